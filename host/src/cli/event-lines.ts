/**
 * One line per hub item for the hands-on commands (`atp-host watch`,
 * `atp-host interactive`): what the guest's input devices saw and what
 * happened to the agent's session, for a person reading a terminal.
 *
 *   12:04:31.517 event0   key KEY_H down
 *   12:04:31.561 event3   button left down at 100,200
 *   12:04:31.602 event3   abs 3200,8533 (of 0..32767)
 *   12:04:30.002 host     agent lab connected over virtio (…), atp-agent 0.1.0 on linux 6.1.0
 *
 * Event lines start with the guest's time (the event's `t`, UTC time of day
 * when it is a wall clock, else seconds), then the device id; notices carry
 * the host time the hub received them and `host` in the device column. Key
 * names come from the key table (@atp/protocol): the event's canonical id, or
 * the name of its native evdev code when the id is not in the table. Text from
 * the guest goes through `printable`, so a terminal never gets a raw control
 * character. Pure: no I/O.
 */
import { getKey, keyFromEvdev, type HelloBody, type ObservedEvent, type ObservedKeyEvent } from '@atp/protocol';
import type { HubItem } from '../hub/index.js';
import { printable } from '../report/index.js';

/** Times at or above this are milliseconds since the epoch (after 1973), below it a monotonic clock. */
const WALL_CLOCK_MS = 1e11;
const DEVICE_WIDTH = 8;

/** "12:04:31.517" (UTC) for an epoch time, "5321.004 s" for a monotonic one. */
export function formatEventTime(t: number): string {
  if (!Number.isFinite(t)) return String(t);
  if (t >= WALL_CLOCK_MS) return new Date(t).toISOString().slice(11, 23);
  return `${(t / 1000).toFixed(3)} s`;
}

/** The key's name: its canonical id when the key table knows it, else the table's name for its native evdev code. */
export function keyName(event: ObservedKeyEvent): string {
  if (getKey(event.key) !== undefined) return event.key;
  const code = event.native?.evdev;
  if (code === undefined) return event.key;
  const named = keyFromEvdev(code);
  return named === undefined ? `${event.key} (evdev ${code})` : named;
}

const quoted = (text: string): string => `"${printable(text)}"`;
const signed = (n: number): string => (n > 0 ? `+${n}` : String(n));

/** What one observed event says, without time and device: "key KEY_A down (shift)". */
export function describeEvent(event: ObservedEvent): string {
  switch (event.kind) {
    case 'key': {
      const mods = event.modifiers === undefined || event.modifiers.length === 0 ? '' : ` (${event.modifiers.map(printable).join('+')})`;
      return `key ${keyName(event)} ${event.action}${mods}`;
    }
    case 'button':
      return `button ${event.button} ${event.action}${event.x === undefined || event.y === undefined ? '' : ` at ${event.x},${event.y}`}`;
    case 'rel':
      return `rel ${signed(event.dx)},${signed(event.dy)}`;
    case 'abs':
      return `abs ${event.x},${event.y}${event.range === undefined ? '' : ` (of ${event.range.xMin}..${event.range.xMax})`}`;
    case 'wheel':
      return `wheel ${signed(event.dy)}${event.dx === 0 ? '' : ` dx ${signed(event.dx)}`}${event.hiRes === undefined ? '' : ` (hi-res ${signed(event.hiRes.dy)})`}`;
    case 'sync-dropped':
      return `SYN_DROPPED: the guest's evdev buffer overflowed${event.lost === undefined ? '' : `, ${event.lost} lost`}`;
    case 'text':
      return `text ${quoted(event.text)}${event.composing === true ? ' (composing)' : ''}${event.inputType === undefined ? '' : ` ${printable(event.inputType)}`}`;
    case 'composition':
      return `composition ${event.phase} ${quoted(event.data)}`;
    case 'focus':
      return `focus ${event.state}`;
    case 'device':
      return `device ${event.change}: ${quoted(event.info.name)} (${event.info.kind})`;
  }
}

function column(time: string, device: string, what: string): string {
  return `${time} ${printable(device === '' ? '-' : device).padEnd(DEVICE_WIDTH)} ${what}`;
}

/** One line (no newline) for a hub item: an observed event or a session notice. */
export function formatHubItem(item: HubItem): string {
  if (item.kind === 'event') return column(formatEventTime(item.event.t), item.event.device, describeEvent(item.event));
  const at = formatEventTime(item.receivedAt);
  const agent = printable(item.agentId);
  switch (item.kind) {
    case 'connected': {
      const h = item.hello;
      return column(at, 'host', `agent ${agent} connected over ${item.transport} (${printable(item.remote)}), ${printable(`atp-agent ${h.version} on ${h.os.platform} ${h.os.release}`)}, boot ${printable(item.bootId)}`);
    }
    case 'disconnected':
      return column(at, 'host', `agent ${agent} disconnected${item.reason === null ? '' : `: ${printable(item.reason.code)}: ${printable(item.reason.message)}`}`);
    case 'boot-changed':
      return column(at, 'host', `agent ${agent} started again: boot ${printable(item.previous.bootId)} → ${printable(item.bootId)} (events the old boot held past seq ${item.previous.lastSeq ?? 0} are lost)`);
    case 'problem':
      return column(at, 'host', `problem ${printable(item.problem.code)}: ${printable(item.problem.message)}${item.problem.resolvedAt === undefined ? '' : ' (resolved)'}`);
    case 'gap':
      return column(at, 'host', `gap: ${item.got - item.expected} event(s) never arrived (seq ${item.expected}..${item.got - 1})`);
  }
}

/** Lines saying who is observing: the agent, its capture backends, its devices and open problems (from its hello). */
export function describeAgent(label: string, agentId: string, hello: Omit<HelloBody, 'token'> | undefined): string[] {
  if (hello === undefined) return [`${printable(label)}: agent ${printable(agentId)} has no session right now`];
  const lines = [`${printable(label)}: agent ${printable(agentId)}, ${printable(`atp-agent ${hello.version} on ${hello.os.platform} ${hello.os.release}, capture ${hello.captureBackends.join(', ') || 'none'}`)}`];
  for (const d of hello.devices ?? []) lines.push(`  device ${printable(d.id).padEnd(DEVICE_WIDTH)} ${quoted(d.name)} (${d.kind})`);
  for (const p of hello.problems ?? []) if (p.resolvedAt === undefined) lines.push(`  problem ${printable(p.code)}: ${printable(p.message)}`);
  return lines;
}
