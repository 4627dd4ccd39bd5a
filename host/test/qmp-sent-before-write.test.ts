/**
 * QmpClient reports a command's `onSent` time before it writes the command's
 * bytes, not after. A real QEMU cannot show the difference on demand: it shows
 * it only when the write wakes QEMU and QEMU takes this thread's CPU for a few
 * ms (measured on this 2-core host: the stamp then came 6-11 ms after the write,
 * after the guest had already timestamped the key, and latencies came out
 * negative). So the peer here is an in-memory stream that plays QMP and notes
 * hostNow() at the moment each command's bytes reach it.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hostNow } from '../src/util/clock.js';
import { inputSendEvent, QmpClient } from '../src/vm/qmp/index.js';

const GREETING = { QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: '' }, capabilities: [] } };

/** Answers every command with an empty return and records when each one's bytes arrived. */
class QmpPeer extends Duplex {
  readonly arrived: { command: string; at: number }[] = [];
  private buffered = '';

  constructor() {
    super();
    queueMicrotask(() => this.push(`${JSON.stringify(GREETING)}\r\n`));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const at = hostNow();
    this.buffered += chunk.toString('utf8');
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line === '') continue;
      const message = JSON.parse(line) as { execute: string; id?: unknown };
      this.arrived.push({ command: message.execute, at });
      setImmediate(() => this.push(`${JSON.stringify({ return: {}, id: message.id })}\r\n`));
    }
    done();
  }
}

describe('QmpClient onSent', () => {
  it('is stamped before the bytes of the command are written, for every command', async () => {
    const peer = new QmpPeer();
    const client = await QmpClient.connect({ stream: () => Promise.resolve(peer) }, { connectTimeoutMs: 5000 });
    try {
      const stamps: number[] = [];
      for (let i = 0; i < 20; i++) {
        await inputSendEvent(client, [{ type: 'key', down: i % 2 === 0, key: { type: 'qcode', data: 'a' } }], { onSent: (at) => stamps.push(at) });
      }
      const writes = peer.arrived.filter((a) => a.command === 'input-send-event');
      expect(writes).toHaveLength(20);
      expect(stamps).toHaveLength(20);
      stamps.forEach((at, i) => expect(at).toBeLessThanOrEqual(writes[i]?.at ?? Number.NEGATIVE_INFINITY));
    } finally {
      await client.close();
    }
  });
});
