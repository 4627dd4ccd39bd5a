/**
 * QgaClient against a real qemu-ga on the host: commands, error mapping,
 * resynchronisation after garbage (sent to the agent, and injected into the
 * received stream through a passthrough Duplex, a fault the agent cannot make),
 * timeout then resync, disconnect and close.
 */
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isAtpError, type AtpErrorCode } from '@atp/protocol';
import { QgaClient } from '../src/vm/qga/index.js';
import { startQemuGa, type QemuGa } from './support/qemu-ga.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function agent(blockRpcs?: string[]): Promise<QemuGa> {
  const ga = await startQemuGa({ blockRpcs });
  cleanups.push(() => ga.stop());
  return ga;
}

async function client(ga: QemuGa, options = {}): Promise<QgaClient> {
  const c = await QgaClient.connect({ path: ga.socketPath }, options);
  cleanups.push(() => c.close());
  return c;
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function expectCode(promise: Promise<unknown>, code: AtpErrorCode): Promise<void> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(isAtpError(error) ? error.code : error).toBe(code);
}

/** A Duplex over a real socket that can also inject bytes into what the client receives. */
class TapStream extends Duplex {
  constructor(readonly socket: net.Socket) {
    super();
    socket.on('data', (d: Buffer) => this.push(d));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
  }
  inject(bytes: Uint8Array): void {
    this.push(Buffer.from(bytes));
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }
  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}

async function tapClient(ga: QemuGa): Promise<{ c: QgaClient; tap: TapStream }> {
  let tap: TapStream | undefined;
  const c = await QgaClient.connect({
    stream: () =>
      new Promise((resolve, reject) => {
        const s = net.createConnection({ path: ga.socketPath }, () => resolve((tap = new TapStream(s))));
        s.once('error', reject);
      }),
  });
  cleanups.push(() => c.close());
  if (!tap) throw new Error('no stream');
  return { c, tap };
}

describe('QgaClient against a real qemu-ga', () => {
  it('pings, reads guest-info and guest-get-osinfo', async () => {
    const c = await client(await agent());
    await c.ping();
    const info = await c.info();
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(info.commands).toContainEqual({ name: 'guest-exec', enabled: true });
    expect((await c.osInfo()).machine).toBe(process.arch === 'x64' ? 'x86_64' : expect.any(String));
    expect(c.stats.syncs).toBe(1);
  });

  it('maps unknown, disabled and badly-called commands to typed errors', async () => {
    const c = await client(await agent(['guest-get-time']));
    await expectCode(c.execute('guest-no-such-command'), 'ATP_QGA_COMMAND_NOT_FOUND');
    await expectCode(c.execute('guest-get-time'), 'ATP_QGA_COMMAND_DISABLED');
    expect((await c.info()).commands).toContainEqual({ name: 'guest-get-time', enabled: false });
    await expectCode(c.execute('guest-exec', { path: 5 }), 'ATP_QGA_INVALID_PARAMETER');
    await expectCode(c.execute('guest-ping', { unexpected: 1 }), 'ATP_QGA_INVALID_PARAMETER');
    await expectCode(c.execute('guest-file-open', { path: '/tmp/x', mode: 'bogus' }), 'ATP_QGA_COMMAND');
    await c.ping();
  });

  it('recovers after garbage bytes written toward the agent', async () => {
    const { c, tap } = await tapClient(await agent());
    // Partial JSON, random bytes and 0xFF, ending inside an unterminated JSON string.
    const garbage = Buffer.concat([Buffer.from('{"execute": "guest-ping", "argu'), Buffer.from([0xff, 0x00, 0x13, 0xfe, 0xff]), Buffer.from('}}]]\n[1,'), Buffer.from([0x80, 0xc3]), Buffer.from('{"ex')]);
    expect(c.stats.discardedFrames).toBe(0);
    tap.socket.write(garbage);
    // The agent answers the garbage with id-less parse errors; the client notices and resyncs.
    await waitFor(() => c.stats.discardedFrames > 0);
    await c.ping();
    expect((await c.info()).version).toMatch(/^\d/);
    expect(c.stats.syncs).toBeGreaterThanOrEqual(2);
  });

  it('loses only the command that garbage swallowed on its way to the agent (timeout), then resyncs', async () => {
    const { c, tap } = await tapClient(await agent());
    tap.socket.write(Buffer.from('{"execute": "guest-info", "arguments": {"x": "unterminated'));
    await expectCode(c.execute('guest-get-time', undefined, { timeoutMs: 1000 }), 'ATP_QGA_TIMEOUT');
    expect((await c.info()).version).toMatch(/^\d/);
    await c.ping();
  });

  it('recovers after garbage injected into the received stream, and counts it', async () => {
    const { c, tap } = await tapClient(await agent());
    const discards: number[] = [];
    c.onDiscard((e) => discards.push(e.bytes));
    const before = c.stats.discardedBytes;
    tap.inject(Uint8Array.from([0x7b, 0x22, 0xff, 0x01, 0x02, 0x0a, ...Buffer.from('{"return": {"fake": 1}}\nnot json\n{"ret')]));
    expect((await c.info()).version).toMatch(/^\d/);
    expect(c.stats.discardedBytes).toBeGreaterThan(before);
    expect(discards.length).toBeGreaterThan(0);
  });

  it('property: any garbage injected into the received stream is survived', async () => {
    const { c, tap } = await tapClient(await agent());
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.boolean(), async (garbage, withFf) => {
        tap.inject(withFf ? Uint8Array.from([...garbage, 0xff]) : garbage);
        // Garbage that arrives while idle; garbage mid-reply would cost that one command a timeout.
        await new Promise((resolve) => setImmediate(resolve));
        const before = c.stats.syncs;
        await c.ping();
        expect(c.stats.syncs).toBeGreaterThanOrEqual(before);
      }),
      { numRuns: 25 },
    );
    await c.ping();
  });

  it('times out, resyncs, and does not mistake the late reply for the next one', async () => {
    const ga = await agent();
    const c = await client(ga);
    ga.signal('SIGSTOP');
    await expectCode(c.execute('guest-get-time', undefined, { timeoutMs: 300 }), 'ATP_QGA_TIMEOUT');
    ga.signal('SIGCONT');
    const syncs = c.stats.syncs;
    // guest-get-time returns a number; guest-info an object: a mix-up would fail validation.
    expect((await c.info()).version).toMatch(/^\d/);
    expect(c.stats.syncs).toBe(syncs + 1);
    await c.ping();
  });

  it('rejects in-flight and queued commands with ATP_QGA_DISCONNECTED when the agent dies', async () => {
    const ga = await agent();
    const c = await client(ga);
    const terminated = new Promise((resolve) => c.onTerminated(resolve));
    ga.signal('SIGSTOP');
    const inFlight = c.ping({ timeoutMs: 60_000 });
    const queued = c.info({ timeoutMs: 60_000 });
    ga.signal('SIGKILL');
    await expectCode(inFlight, 'ATP_QGA_DISCONNECTED');
    await expectCode(queued, 'ATP_QGA_DISCONNECTED');
    await terminated;
    expect(c.open).toBe(false);
    await expectCode(c.ping(), 'ATP_QGA_DISCONNECTED');
  });

  it('rejects in-flight and queued commands with ATP_QGA_CLOSED on close()', async () => {
    const ga = await agent();
    const c = await client(ga);
    ga.signal('SIGSTOP');
    const inFlight = c.ping({ timeoutMs: 60_000 });
    const queued = c.osInfo({ timeoutMs: 60_000 });
    c.close();
    await expectCode(inFlight, 'ATP_QGA_CLOSED');
    await expectCode(queued, 'ATP_QGA_CLOSED');
    await expectCode(c.ping(), 'ATP_QGA_CLOSED');
    ga.signal('SIGCONT');
  });

  it('counts a throwing onDiscard or onTerminated listener instead of crashing the process', async () => {
    const { c, tap } = await tapClient(await agent());
    c.onDiscard(() => {
      throw new Error('listener bug');
    });
    c.onTerminated(() => {
      throw new Error('listener bug');
    });
    tap.inject(Buffer.from('not json\n'));
    await waitFor(() => c.stats.discardedFrames > 0);
    await c.ping();
    expect(() => c.close()).not.toThrow();
    expect(c.stats.listenerFailures).toBeGreaterThanOrEqual(2);
  });

  it('bounds a stream factory by connectTimeoutMs and destroys a stream that arrives late', async () => {
    let deliver: (s: Duplex) => void = () => undefined;
    const late = new Promise<Duplex>((resolve) => (deliver = resolve));
    await expectCode(QgaClient.connect({ stream: () => late }, { connectTimeoutMs: 200 }), 'ATP_QGA_CONNECT');
    const stream = new PassThrough();
    deliver(stream);
    await waitFor(() => stream.destroyed);
    expect(stream.listenerCount('error')).toBeGreaterThan(0);
  });

  it('rejects a TCP port Node refuses synchronously with ATP_QGA_CONNECT', async () => {
    await expectCode(QgaClient.connect({ host: '127.0.0.1', port: 70_000 }), 'ATP_QGA_CONNECT');
  });

  it('fails to connect with ATP_QGA_CONNECT, and to sync with ATP_QGA_SYNC', async () => {
    const ga = await agent();
    await expectCode(QgaClient.connect({ path: `${ga.socketPath}.missing` }), 'ATP_QGA_CONNECT');
    await expectCode(QgaClient.connect({ stream: () => Promise.reject(new Error('no route')) }), 'ATP_QGA_CONNECT');
    ga.signal('SIGSTOP');
    await expectCode(QgaClient.connect({ path: ga.socketPath }, { syncTimeoutMs: 300 }), 'ATP_QGA_SYNC');
    ga.signal('SIGCONT');
  });
});
