/**
 * A finding's expected and observed sides (small JSON objects: key,
 * modifiers, text, position, seqs ...) as a line diff for the HTML report:
 * a field both sides agree on is one plain line, a field they disagree on is
 * a "−" line (expected) followed by a "+" line (observed), a field only one
 * side has is that side's line. Signs and a hidden "expected"/"observed" word
 * carry the meaning besides the colour. Pure.
 */
import { text } from './html-parts.js';

const MAX_VALUE_CHARS = 240;

function show(value: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return json.length > MAX_VALUE_CHARS ? `${json.slice(0, MAX_VALUE_CHARS - 1)}…` : json;
}

type Side = 'same' | 'expected' | 'observed';

const SIGN: Readonly<Record<Side, string>> = { same: ' ', expected: '−', observed: '+' };
const WORD: Readonly<Record<Side, string>> = { same: 'both', expected: 'expected', observed: 'observed' };

function line(side: Side, field: string, value: unknown): string {
  return `<span class="d-${side}"><span class="sign" aria-hidden="true">${SIGN[side]}</span><span class="sr">${WORD[side]}: </span>${text(field)}: ${text(show(value))}</span>`;
}

/** The diff as markup, or '' when the finding has neither side. */
export function findingDiff(expected: Readonly<Record<string, unknown>> | undefined, observed: Readonly<Record<string, unknown>> | undefined): string {
  if (expected === undefined && observed === undefined) return '';
  const fields = [...new Set([...Object.keys(expected ?? {}), ...Object.keys(observed ?? {})])];
  const lines: string[] = [];
  for (const field of fields) {
    const inExpected = expected !== undefined && Object.hasOwn(expected, field);
    const inObserved = observed !== undefined && Object.hasOwn(observed, field);
    const e = inExpected ? expected[field] : undefined;
    const o = inObserved ? observed[field] : undefined;
    if (inExpected && inObserved && show(e) === show(o)) lines.push(line('same', field, e));
    else {
      if (inExpected) lines.push(line('expected', field, e));
      if (inObserved) lines.push(line('observed', field, o));
    }
  }
  // The lines are blocks: a newline between them would show as an empty line.
  return `<pre class="diff">${lines.join('')}</pre>`;
}
