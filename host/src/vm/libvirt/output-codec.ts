/**
 * Parsers for the human-readable tables virsh prints (`list --all`, `dominfo`,
 * `domstate`). Hand-written because virsh offers no JSON for them; the shapes
 * below are libvirt 9.0's with LC_ALL=C. Domain names may contain blanks, so a
 * `list` row is read from both ends: the id on the left, a state from virsh's
 * fixed vocabulary on the right, the name in between. Pure.
 */
import { AtpError } from '@atp/protocol';

export const DOMAIN_STATES = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'unknown'] as const;
export type DomainState = (typeof DOMAIN_STATES)[number];

/** virsh's words (virshDomainStateToString) → our state names. */
const STATE_WORDS: Record<string, DomainState> = {
  'no state': 'nostate',
  running: 'running',
  idle: 'blocked',
  paused: 'paused',
  'in shutdown': 'shutdown',
  'shut off': 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
  unknown: 'unknown',
};
const STATE_ALTERNATION = Object.keys(STATE_WORDS).map((w) => w.replace(' ', '\\s')).join('|');

export interface DomainSummary {
  name: string;
  /** The hypervisor id while the domain runs; undefined when it is inactive ("-"). */
  id: number | undefined;
  state: DomainState;
}

function outputError(what: string, text: string): AtpError {
  const preview = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return new AtpError('ATP_LIBVIRT_VIRSH', `cannot parse virsh ${what} output: ${JSON.stringify(preview)}`, { details: { what, preview } });
}

export function parseState(word: string): DomainState {
  const key = word.trim().replace(/\s+/g, ' ');
  // Own keys only: "constructor" is not a state.
  const state = Object.hasOwn(STATE_WORDS, key) ? STATE_WORDS[key] : undefined;
  if (state === undefined) throw outputError('state', word);
  return state;
}

/** `domstate` prints the state word (with --reason: "paused (user)"). */
export function parseDomstate(text: string): DomainState {
  const first = (text.split('\n').find((l) => l.trim() !== '') ?? '').trimEnd();
  // Cut " (reason)" by index: the regex /\s*\(.*\)\s*$/ backtracks quadratically on a long run of blanks.
  const open = first.indexOf('(');
  return parseState(open !== -1 && first.endsWith(')') ? first.slice(0, open) : first);
}

/** The table of `virsh list --all`: rows, after a header and dashes unless -q. */
export function parseDomainList(text: string): DomainSummary[] {
  const lines = text.split('\n').map((l) => l.trimEnd());
  // `virsh -q` omits the header and the dashes; without -q they come first.
  const header = lines.findIndex((l) => /^\s*Id\s+Name\s+State\s*$/.test(l));
  if (header !== -1 && !/^-+$/.test(lines[header + 1]?.trim() ?? '')) throw outputError('list', text);
  // Id and state are matched apart from the name: one regex with a lazy name between
  // two blank runs backtracks quadratically on a long run of blanks.
  const id = /^\s*(\d+|-)\s+/;
  const state = new RegExp(`\\s(${STATE_ALTERNATION})$`);
  const out: DomainSummary[] = [];
  for (const line of header === -1 ? lines : lines.slice(header + 2)) {
    if (line.trim() === '') continue;
    const head = id.exec(line);
    const tail = state.exec(line);
    const name = head && tail && tail.index >= head[0].length ? line.slice(head[0].length, tail.index).trimEnd() : '';
    if (!head || !tail || name === '') throw outputError('list', line);
    out.push({ id: head[1] === '-' ? undefined : Number(head[1]), name, state: parseState(tail[1] ?? '') });
  }
  return out;
}

export interface DomainInfo {
  name: string;
  uuid: string;
  id: number | undefined;
  state: DomainState;
  vcpus: number;
  maxMemoryKiB: number;
  persistent: boolean;
  autostart: boolean;
  /** Every "Key: value" line as printed (continuation lines appended with a newline). */
  fields: Record<string, string>;
}

/** `virsh dominfo NAME`: "Key:   value" lines; "Messages:" may continue on indented lines. */
export function parseDominfo(text: string): DomainInfo {
  const fields: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([A-Za-z][A-Za-z0-9 ()]*?):\s*(.*)$/.exec(line);
    if (m && !/^\s/.test(line)) {
      last = m[1] ?? '';
      fields[last] = (m[2] ?? '').trim();
    } else if (last !== undefined && /^\s/.test(line)) {
      fields[last] = `${fields[last] ?? ''}\n${line.trim()}`;
    } else throw outputError('dominfo', line);
  }
  const need = (key: string): string => {
    const v = fields[key];
    if (v === undefined) throw outputError('dominfo', `missing "${key}" in ${text}`);
    return v;
  };
  const id = need('Id');
  const memory = /^(\d+) KiB$/.exec(need('Max memory'));
  const vcpus = Number(need('CPU(s)'));
  if (!memory || !Number.isInteger(vcpus) || !(id === '-' || /^\d+$/.test(id))) throw outputError('dominfo', text);
  return {
    name: need('Name'),
    uuid: need('UUID'),
    id: id === '-' ? undefined : Number(id),
    state: parseState(need('State')),
    vcpus,
    maxMemoryKiB: Number(memory[1]),
    persistent: need('Persistent') === 'yes',
    autostart: need('Autostart') === 'enable',
    fields,
  };
}
