/**
 * Findings with their expected/observed diff: each finding's two sides (small
 * JSON objects: key, modifiers, text, position, time) are lined up field by
 * field, and the fields that differ are marked with a word as well as a colour
 * (so the difference is not told by colour alone). `diffFields` is pure.
 */
import type { Finding } from '@atp/protocol';
import { h } from './dom.js';

/** A short JSON rendering of one side's value (strings as they are). */
function brief(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export interface FieldDiff {
  field: string;
  expected: string;
  observed: string;
  differs: boolean;
}

/** The fields of both sides, expected's order first, with whether they differ (absent on one side counts). */
export function diffFields(expected: Record<string, unknown> | undefined, observed: Record<string, unknown> | undefined): FieldDiff[] {
  const fields = [...new Set([...Object.keys(expected ?? {}), ...Object.keys(observed ?? {})])];
  return fields.map((field) => {
    const e = expected === undefined || !(field in expected) ? undefined : expected[field];
    const o = observed === undefined || !(field in observed) ? undefined : observed[field];
    const [es, os] = [e === undefined ? '–' : brief(e), o === undefined ? '–' : brief(o)];
    // With one side missing altogether there is nothing to compare: no field "differs".
    return { field, expected: es, observed: os, differs: expected !== undefined && observed !== undefined && es !== os };
  });
}

export interface PlacedFinding {
  finding: Finding;
  vm: string;
  suite: string;
  round?: number;
  /** The step's label, when the suite's steps are known. */
  stepLabel?: string;
}

/** Control characters (an ANSI escape in a message) written as \\xNN: the fonts at hand draw them (and the U+2400 pictures) as boxes. */
export function visibleControls(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += code === 0x7f || (code < 0x20 && c !== '\t' && c !== '\n') ? `\\x${code.toString(16).padStart(2, '0')}` : c;
  }
  return out;
}

function findingDiff(finding: Finding): HTMLElement | null {
  if (finding.expected === undefined && finding.observed === undefined) return null;
  const rows = diffFields(finding.expected, finding.observed);
  // A finding with one side only (a duplicate: observed; a missing key: expected) shows that side alone.
  const sides = (['expected', 'observed'] as const).filter((side) => finding[side] !== undefined);
  return h(
    'table',
    { class: 'diff' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), sides.map((side) => h('th', { scope: 'col' }, side === 'expected' ? 'Expected' : 'Observed')))),
    h(
      'tbody',
      {},
      rows.map((row) =>
        h(
          'tr',
          { class: row.differs ? 'differs' : undefined },
          h('th', { scope: 'row' }, row.field, row.differs ? h('span', { class: 'tag' }, ' differs') : null),
          sides.map((side) => h('td', { class: side }, h('code', {}, visibleControls(row[side])))),
        ),
      ),
    ),
  );
}

/** The findings list: one item per finding with where it happened, its message and its diff. */
export function findingsList(findings: PlacedFinding[], options: { limit?: number } = {}): HTMLElement {
  if (findings.length === 0) return h('p', { class: 'muted' }, 'No findings.');
  const limit = options.limit ?? 200;
  const shown = findings.slice(0, limit);
  return h(
    'div',
    {},
    h(
      'ol',
      { class: 'findings' },
      shown.map(({ finding, vm, suite, round, stepLabel }) =>
        h(
          'li',
          { class: 'finding' },
          h(
            'p',
            { class: 'finding-head' },
            h('span', { class: 'pill', 'data-state': 'fail' }, finding.kind),
            ' ',
            h('strong', {}, vm),
            ` · ${suite}${round === undefined ? '' : ` · round ${round}`}${finding.step === undefined ? '' : ` · step ${finding.step}${stepLabel === undefined ? '' : ` (${stepLabel})`}`}`,
          ),
          h('p', {}, visibleControls(finding.message)),
          findingDiff(finding),
        ),
      ),
    ),
    findings.length > limit ? h('p', { class: 'muted' }, `${findings.length - limit} more findings are in the report (JSON).`) : null,
  );
}
