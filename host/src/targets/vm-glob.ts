/**
 * `--vms GLOB[@HOST]`: a shell-style glob over libvirt domain names (`*` any
 * run, `?` one character, `[abc]` / `[a-z]` / `[!abc]` a class), and the split
 * of a host's domains into the ones to act on (matching and running) and the
 * ones skipped (matching but shut off, crashed, ...). Pure: no libvirt here.
 */
import { AtpError } from '@atp/protocol';
import type { DomainState, DomainSummary } from '../vm/libvirt/index.js';

/** States a command can act on (a paused domain is continued first). */
export const USABLE_STATES: readonly DomainState[] = ['running', 'blocked', 'paused'];

const escapeChar = (c: string): string => (/[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c);

function invalid(glob: string, why: string): AtpError {
  return new AtpError('ATP_SCHEMA_INVALID', `--vms ${JSON.stringify(glob)}: ${why}`, { details: { field: 'vms', value: glob } });
}

/** "web-*" → /^web-.*$/ (whole name). ATP_SCHEMA_INVALID for an empty glob or an unclosed or empty `[`. */
export function globToRegExp(glob: string): RegExp {
  if (glob === '') throw invalid(glob, 'empty pattern');
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      let j = i + 1;
      const negate = glob.charAt(j) === '!' || glob.charAt(j) === '^';
      if (negate) j++;
      // A ']' right after '[' or '[!' is a member, as in the shell.
      const start = j;
      if (glob.charAt(j) === ']') j++;
      while (j < glob.length && glob.charAt(j) !== ']') j++;
      if (j >= glob.length) throw invalid(glob, `unclosed '[' at ${i + 1}`);
      const members = glob.slice(start, j);
      if (members === '') throw invalid(glob, `empty class at ${i + 1}`);
      let cls = '';
      for (let k = 0; k < members.length; k++) {
        const m = members.charAt(k);
        // '-' between two members is a range; anywhere else it is literal.
        cls += m === '-' ? (k > 0 && k < members.length - 1 ? '-' : '\\-') : escapeChar(m);
      }
      source += `[${negate ? '^' : ''}${cls}]`;
      i = j;
    } else source += escapeChar(c);
  }
  try {
    return new RegExp(`^${source}$`, 'u');
  } catch (error) {
    throw new AtpError('ATP_SCHEMA_INVALID', `--vms ${JSON.stringify(glob)}: ${error instanceof Error ? error.message : String(error)}`, { details: { field: 'vms', value: glob }, cause: error });
  }
}

export interface DomainSelection {
  /** Matching and usable, in the host's order. */
  matched: DomainSummary[];
  /** Matching but not running (shut off, crashed, ...). */
  skipped: DomainSummary[];
}

/** The domains a selector (glob, `re:REGEX`, comma list) matches, split by whether they run. */
export function selectDomains(selector: string, domains: readonly DomainSummary[]): DomainSelection {
  const match = selectorMatcher(selector);
  const hits = domains.filter((d) => match(d.name));
  return { matched: hits.filter((d) => USABLE_STATES.includes(d.state)), skipped: hits.filter((d) => !USABLE_STATES.includes(d.state)) };
}

/**
 * A VM selector: `re:REGEX` (a JavaScript regular expression, tested against
 * the whole name only if it anchors itself), a comma list of globs
 * (`web-1,web-2`, `desk-*,kiosk`), or one glob. ATP_SCHEMA_INVALID naming the
 * flag for a bad pattern.
 */
export function selectorMatcher(selector: string, flag = '--vms'): (name: string) => boolean {
  if (selector.startsWith('re:')) {
    const source = selector.slice(3);
    if (source === '') throw new AtpError('ATP_SCHEMA_INVALID', `${flag} ${JSON.stringify(selector)}: empty regular expression`, { details: { field: flag, value: selector } });
    let re: RegExp;
    try {
      re = new RegExp(source, 'u');
    } catch (error) {
      throw new AtpError('ATP_SCHEMA_INVALID', `${flag} ${JSON.stringify(selector)}: ${error instanceof Error ? error.message : String(error)}`, { details: { field: flag, value: selector }, cause: error });
    }
    return (name) => re.test(name);
  }
  const parts = selector.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new AtpError('ATP_SCHEMA_INVALID', `${flag} ${JSON.stringify(selector)}: an empty name in the list`, { details: { field: flag, value: selector } });
  const res = parts.map((p) => globToRegExp(p));
  return (name) => res.some((re) => re.test(name));
}

export interface SelectOptions {
  /** Drop names this selector matches. */
  exclude?: string;
  /** Keep at most this many (in the given order). */
  limit?: number;
}

/**
 * The names a selector picks from `names` (in their order), minus `exclude`,
 * at most `limit`. ATP_RUN_NO_TARGETS when nothing is left, listing the names
 * seen, so the user can correct the pattern.
 */
export function selectNames(selector: string, names: readonly string[], options: SelectOptions = {}): string[] {
  const match = selectorMatcher(selector);
  const exclude = options.exclude === undefined ? undefined : selectorMatcher(options.exclude, '--exclude');
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `--limit expects a positive integer, got ${options.limit}`, { details: { field: 'limit' } });
  }
  const picked = names.filter((n) => match(n) && !(exclude?.(n) ?? false)).slice(0, options.limit ?? Infinity);
  if (picked.length === 0) {
    const seen = names.length === 0 ? 'none' : names.join(', ');
    const why = options.exclude === undefined ? '' : ` (after --exclude ${JSON.stringify(options.exclude)})`;
    throw new AtpError('ATP_RUN_NO_TARGETS', `${JSON.stringify(selector)} matches no VM${why}; VMs seen: ${seen}`, { details: { selector, names: [...names] } });
  }
  return picked;
}
