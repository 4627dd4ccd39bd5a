/**
 * Reads raw evdev bytes inside the lab guest without the ATP agent, through
 * qemu-ga only: a guest shell opens /dev/input/eventN (from that moment the
 * kernel queues events for this reader), starts a background `cat` copying it
 * to a file and exits, so guest-exec returns once the reader is in place.
 * `bytes()` downloads what arrived so far; `stop()` kills the cat, returns the
 * bytes and removes the files. Used by the tests and the fixture recorder.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError, decodeInputEvents } from '@atp/protocol';
import type { QgaClient } from '../vm/qga/index.js';
import { INPUT_EVENT_BYTES, type InputEventRecord } from './evdev-codec.js';

export interface GuestEvdevReader {
  readonly eventNode: string;
  /** Everything read so far (whole records only). */
  bytes(): Promise<Uint8Array>;
  /** Polls until `done(events)` holds; ATP_LAB_BOOT naming what arrived after `timeoutMs`. */
  waitFor(done: (events: InputEventRecord[]) => boolean, timeoutMs?: number): Promise<InputEventRecord[]>;
  /** Stops the reader and returns all bytes read. */
  stop(): Promise<Uint8Array>;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

export async function startGuestEvdevReader(qga: QgaClient, eventNode: string): Promise<GuestEvdevReader> {
  if (!/^event\d+$/.test(eventNode)) throw new AtpError('ATP_SCHEMA_INVALID', `not an evdev node name: ${JSON.stringify(eventNode)}`, { details: { field: 'eventNode' } });
  const base = `/tmp/atp-evdev-${randomBytes(6).toString('hex')}`;
  const script = [
    `exec 3</dev/input/${eventNode} || exit 3`,
    `: > ${base}.bin`,
    `cat <&3 >${base}.bin 2>/dev/null &`,
    `echo $! > ${base}.pid`,
  ].join('\n');
  const start = await qga.exec('/bin/sh', ['-c', script], { deadlineMs: 20_000 });
  if (start.exitCode !== 0) throw new AtpError('ATP_LAB_BOOT', `cannot open /dev/input/${eventNode} in the guest (exit ${String(start.exitCode)})`, { details: { eventNode } });

  const whole = (b: Uint8Array): Uint8Array => b.subarray(0, b.length - (b.length % INPUT_EVENT_BYTES));
  const bytes = async (): Promise<Uint8Array> => whole(await qga.download(`${base}.bin`));
  let stopped: Uint8Array | undefined;
  return {
    eventNode,
    bytes,
    async waitFor(done, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const events = decodeInputEvents(await bytes());
        if (done(events)) return events;
        if (Date.now() > until) {
          throw new AtpError('ATP_LAB_BOOT', `expected evdev events did not arrive on ${eventNode} within ${timeoutMs} ms (got ${events.length} events)`, {
            details: { eventNode, events: events.slice(-40) },
          });
        }
        await sleep(100);
      }
    },
    async stop() {
      if (stopped) return stopped;
      const pid = text((await qga.exec('/bin/cat', [`${base}.pid`])).stdout).trim();
      if (/^\d+$/.test(pid)) await qga.exec('/bin/kill', [pid]);
      stopped = await bytes();
      await qga.exec('/bin/rm', ['-f', `${base}.bin`, `${base}.pid`]);
      return stopped;
    },
  };
}
