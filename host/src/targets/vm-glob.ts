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

/** The domains whose whole name matches `glob`, split by whether they run. */
export function selectDomains(glob: string, domains: readonly DomainSummary[]): DomainSelection {
  const re = globToRegExp(glob);
  const hits = domains.filter((d) => re.test(d.name));
  return { matched: hits.filter((d) => USABLE_STATES.includes(d.state)), skipped: hits.filter((d) => !USABLE_STATES.includes(d.state)) };
}
