/**
 * Lines of `virsh event --all --loop --timestamp` → typed domain events.
 * Hand-written because virsh prints events only as text. Shapes (libvirt 9.0):
 *   2026-11-27 21:17:12.051+0000: event 'lifecycle' for domain 'vm1': Suspended Paused
 *   2026-11-27 21:17:12.093+0000: event 'reboot' for domain 'vm1'
 *   … event 'agent-lifecycle' for domain 'vm1': state: 'connected' reason: 'channel event'
 * A domain name that itself contains "': " cannot be told apart from the
 * detail; libvirt allows such names but ATP never creates them. Pure.
 */

export const LIFECYCLE_EVENTS = ['defined', 'undefined', 'started', 'suspended', 'resumed', 'stopped', 'shutdown', 'pmsuspended', 'crashed'] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number] | 'unknown';

interface EventBase {
  domain: string;
  /** virsh's timestamp text ("2026-11-27 21:17:12.051+0000"), if printed. */
  time: string | undefined;
}

export type DomainEvent =
  | (EventBase & { kind: 'lifecycle'; event: LifecycleEvent; detail: string })
  | (EventBase & { kind: 'reboot' })
  | (EventBase & { kind: 'agent-lifecycle'; state: 'connected' | 'disconnected' | 'unknown'; reason: string })
  | (EventBase & { kind: 'other'; type: string; detail: string });

const LINE = /^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}): )?event '([^']+)' for domain '(.*?)'(?:: (.*))?$/;

/** One event, or undefined for any other line (blank, "events received: N"). */
export function parseEventLine(line: string): DomainEvent | undefined {
  const m = LINE.exec(line.trimEnd());
  if (!m) return undefined;
  const base: EventBase = { domain: m[3] ?? '', time: m[1] };
  const type = m[2] ?? '';
  const detail = m[4] ?? '';
  switch (type) {
    case 'lifecycle': {
      const [first = '', ...rest] = detail.split(' ');
      const word = first.toLowerCase();
      const event = (LIFECYCLE_EVENTS as readonly string[]).includes(word) ? (word as LifecycleEvent) : 'unknown';
      return { ...base, kind: 'lifecycle', event, detail: event === 'unknown' ? detail : rest.join(' ') };
    }
    case 'reboot':
      return { ...base, kind: 'reboot' };
    case 'agent-lifecycle': {
      const s = /state: '([^']*)'(?: reason: '([^']*)')?/.exec(detail);
      const state = s?.[1] === 'connected' || s?.[1] === 'disconnected' ? s[1] : 'unknown';
      return { ...base, kind: 'agent-lifecycle', state, reason: s?.[2] ?? '' };
    }
    default:
      return { ...base, kind: 'other', type, detail };
  }
}
