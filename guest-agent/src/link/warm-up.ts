/**
 * Runs the agent's per-event path once on throwaway events before any device is
 * open: zod compiles each schema on its first parse and V8 compiles each
 * function on its first call, which costs ~4 ms on a host and hundreds of ms in
 * a TCG guest. Paid on the first real keystroke instead, that pause lets the
 * guest kernel's 64-event evdev buffer overflow (SYN_DROPPED) while the first
 * suite starts. Nothing here is sent.
 */
import { AgentMessageDecoder, encodeNdjson, PROTOCOL_VERSION, ReliableSender, type UnsequencedEvent } from '@atp/protocol';
import { encodeForLink } from './byte-connection.js';

const SAMPLES: UnsequencedEvent[] = [
  { kind: 'device', t: 0, device: 'warm-up', change: 'added', info: { id: 'warm-up', name: 'warm-up', kind: 'keyboard' } },
  { kind: 'key', t: 0, device: 'warm-up', key: 'KEY_A', action: 'down', native: { evdev: 30, scancode: 30 }, modifiers: ['shift'] },
  { kind: 'key', t: 0, device: 'warm-up', key: 'KEY_A', action: 'up', native: { evdev: 30, scancode: 30 }, modifiers: [] },
  { kind: 'button', t: 0, device: 'warm-up', button: 'left', action: 'down' },
  { kind: 'abs', t: 0, device: 'warm-up', x: 1, y: 1, range: { xMin: 0, xMax: 32767, yMin: 0, yMax: 32767 } },
  { kind: 'rel', t: 0, device: 'warm-up', dx: 1, dy: 1 },
  { kind: 'wheel', t: 0, device: 'warm-up', dx: 0, dy: 1 },
  { kind: 'sync-dropped', t: 0, device: 'warm-up' },
];

/** The host's hot messages: the first ping must not pay for compiling the decoder (its pong's t3 would be late). */
const HOST_SAMPLES = [
  { v: PROTOCOL_VERSION, type: 'ping', body: { id: 1, t1: 1 } },
  { v: PROTOCOL_VERSION, type: 'ack', body: { bootId: 'warm-up', seq: 1 } },
] as const;

/** Validates, numbers, batches and encodes the sample events, and decodes a ping and an ack, a few times; returns how long it took (ms). */
export function warmUpEventPath(rounds = 3): number {
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    const sender = new ReliableSender({ bootId: 'warm-up', capacity: SAMPLES.length });
    for (const event of SAMPLES) sender.push(event);
    for (const body of sender.takeBatches()) encodeForLink({ v: PROTOCOL_VERSION, type: 'events', body });
    const decoder = new AgentMessageDecoder({ source: 'warm-up' });
    for (const message of HOST_SAMPLES) decoder.push(encodeNdjson(message));
    encodeForLink({ v: PROTOCOL_VERSION, type: 'pong', body: { id: 1, t1: 1, t2: 2, t3: 3 } });
  }
  return performance.now() - started;
}
