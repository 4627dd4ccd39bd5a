/**
 * Runs the agent's per-event path once on throwaway events before any device is
 * open: zod compiles each schema on its first parse and V8 compiles each
 * function on its first call, which costs ~4 ms on a host and hundreds of ms in
 * a TCG guest. Paid on the first real keystroke instead, that pause lets the
 * guest kernel's 64-event evdev buffer overflow (SYN_DROPPED) while the first
 * suite starts. Nothing here is sent.
 */
import { encodeAgentMessage, PROTOCOL_VERSION, ReliableSender, type UnsequencedEvent } from '@atp/protocol';

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

/** Validates, numbers, batches and encodes the sample events a few times; returns how long it took (ms). */
export function warmUpEventPath(rounds = 3): number {
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    const sender = new ReliableSender({ bootId: 'warm-up', capacity: SAMPLES.length });
    for (const event of SAMPLES) sender.push(event);
    for (const body of sender.takeBatches()) encodeAgentMessage({ v: PROTOCOL_VERSION, type: 'events', body });
  }
  return performance.now() - started;
}
