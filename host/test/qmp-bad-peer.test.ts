/**
 * A peer that speaks bad QMP: faults real QEMU cannot produce on demand (the
 * real-QEMU behaviour is covered by qmp-client, qmp-input and qmp-faults).
 * A tiny unix-socket server plays the peer; the client must answer with typed
 * errors and keep the process alive.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AtpError } from '@atp/protocol';
import { QmpClient } from '../src/vm/qmp/index.js';

const GREETING = '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n';

type Script = (socket: net.Socket, command: { execute?: string; id?: unknown }) => void;

let dir: string;
const servers: net.Server[] = [];
const clients: QmpClient[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-qmp-bad-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A server that sends `greeting` (or runs it) on accept, then runs `script` for each command line. */
async function fakePeer(greeting: string | ((socket: net.Socket) => void), script: Script = (s, c) => s.write(`{"return": {}, "id": ${JSON.stringify(c.id)}}\r\n`)): Promise<string> {
  const sockPath = path.join(dir, `peer-${servers.length}-${Date.now()}.sock`);
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    if (typeof greeting === 'function') greeting(socket);
    else if (greeting) socket.write(greeting);
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        script(socket, JSON.parse(line) as { execute?: string; id?: unknown });
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(sockPath, r));
  return sockPath;
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function connect(sockPath: string): Promise<QmpClient> {
  const client = await QmpClient.connect({ path: sockPath }, { connectTimeoutMs: 2000, defaultTimeoutMs: 5000, maxLineBytes: 4096 });
  clients.push(client);
  return client;
}

describe('QmpClient with a bad peer', () => {
  it('refuses a peer that does not greet with QMP (ATP_QMP_GREETING)', async () => {
    await expect(connect(await fakePeer('SSH-2.0-OpenSSH_9.2\r\n'))).rejects.toMatchObject({ code: 'ATP_QMP_GREETING' });
    await expect(connect(await fakePeer('{"return": {}}\r\n'))).rejects.toMatchObject({ code: 'ATP_QMP_GREETING' });
    await expect(connect(await fakePeer('{"QMP": {"version": "7.2"}}\r\n'))).rejects.toMatchObject({ code: 'ATP_QMP_GREETING' });
  });

  it('times out a silent peer and one that hangs up (ATP_QMP_GREETING)', async () => {
    await expect(connect(await fakePeer(''))).rejects.toMatchObject({ code: 'ATP_QMP_GREETING' });
    await expect(connect(await fakePeer((s) => s.end()))).rejects.toMatchObject({ code: 'ATP_QMP_GREETING' });
  });

  it('reports a refused qmp_capabilities as ATP_QMP_NEGOTIATION', async () => {
    const peer = await fakePeer(GREETING, (s, c) => s.write(`{"id": ${JSON.stringify(c.id)}, "error": {"class": "GenericError", "desc": "nope"}}\r\n`));
    await expect(connect(peer)).rejects.toMatchObject({ code: 'ATP_QMP_NEGOTIATION' });
  });

  it('reports garbage, oversize lines and unknown ids without failing commands', async () => {
    const peer = await fakePeer(GREETING, (s, c) => {
      if (c.execute === 'qmp_capabilities') return void s.write(`{"return": {}, "id": ${JSON.stringify(c.id)}}\r\n`);
      s.write('garbage\r\n[1]\r\n\xff\xfe\r\n{"what": 1}\r\n');
      s.write(`{"return": "${'x'.repeat(10_000)}"}\r\n`);
      s.write('{"return": {}, "id": 99999}\r\n{"return": {}, "id": "nope"}\r\n');
      s.write(`{"return": {"ok": true}, "id": ${JSON.stringify(c.id)}}\r\n`);
    });
    const client = await connect(peer);
    const errors: AtpError[] = [];
    client.on('error', (e) => errors.push(e));
    expect(await client.execute('anything')).toEqual({ ok: true });
    expect(errors.map((e) => e.code)).toEqual(Array.from({ length: 7 }, () => 'ATP_QMP_PROTOCOL'));
    expect(errors.map((e) => e.details.reason)).toContain('ATP_FRAME_TOO_LARGE');
    expect(client.stats.protocolErrors).toBe(7);
    expect(client.state).toBe('ready');
  });

  it('survives a listener that throws', async () => {
    const peer = await fakePeer(GREETING, (s, c) => {
      s.write('{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "BOOM"}\r\nnot json\r\n');
      s.write(`{"return": {}, "id": ${JSON.stringify(c.id)}}\r\n`);
    });
    const client = await connect(peer);
    client.on('error', () => {
      throw new Error('listener bug');
    });
    client.onEvent('BOOM', () => {
      throw new Error('listener bug');
    });
    await client.execute('x');
    expect(client.stats.listenerFailures).toBeGreaterThanOrEqual(2);
  });

  it('reports connect failures as ATP_QMP_CONNECT, for sockets and stream factories', async () => {
    await expect(QmpClient.connect({ path: path.join(dir, 'absent.sock') })).rejects.toMatchObject({ code: 'ATP_QMP_CONNECT' });
    await expect(QmpClient.connect({ stream: () => Promise.reject(new Error('no route')) })).rejects.toMatchObject({ code: 'ATP_QMP_CONNECT' });
  });

  it('speaks QMP over TCP', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write(GREETING);
      socket.on('data', (d: Buffer) => {
        for (const line of d.toString('utf8').split('\n').filter(Boolean)) {
          socket.write(`{"return": {"tcp": true}, "id": ${JSON.stringify((JSON.parse(line) as { id: unknown }).id)}}\r\n`);
        }
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const client = await QmpClient.connect({ host: '127.0.0.1', port: address.port });
    clients.push(client);
    expect(await client.execute('x')).toEqual({ tcp: true });
  });

  it('speaks QMP over any Duplex from a stream factory', async () => {
    const peer = await fakePeer(GREETING);
    const client = await QmpClient.connect({ stream: () => Promise.resolve(net.createConnection({ path: peer })) });
    clients.push(client);
    expect(client.state).toBe('ready');
    expect(await client.execute('query-anything')).toEqual({});
  });

  it('destroys a stream that a factory delivers after the connect timeout', async () => {
    let deliver: (s: Duplex) => void = () => undefined;
    const late = new Promise<Duplex>((resolve) => (deliver = resolve));
    await expect(QmpClient.connect({ stream: () => late }, { connectTimeoutMs: 100 })).rejects.toMatchObject({ code: 'ATP_QMP_CONNECT' });
    const stream = new PassThrough();
    deliver(stream);
    await until(() => stream.destroyed);
    // It also got an 'error' listener: a late failure is not an uncaught exception.
    expect(stream.listenerCount('error')).toBeGreaterThan(0);
  });

  it('fails connect when the link drops right after the qmp_capabilities reply, never a ready client without a link', async () => {
    // The reply and the close come in one turn, before connect() sees the reply: a race real sockets rarely show.
    class DropAfterNegotiation extends Duplex {
      override _read(): void {}
      override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
        const { id } = JSON.parse(chunk.toString('utf8')) as { id: unknown };
        process.nextTick(() => {
          this.push(`{"return": {}, "id": ${JSON.stringify(id)}}\r\n`);
          this.destroy();
        });
        callback();
      }
    }
    for (const reconnect of [false, true]) {
      const peer = new DropAfterNegotiation();
      peer.push(GREETING);
      const outcome = await QmpClient.connect({ stream: () => Promise.resolve(peer) }, { reconnect, connectTimeoutMs: 2000 }).then(
        (c) => {
          clients.push(c);
          return c.state;
        },
        (e: unknown) => e,
      );
      expect(outcome).toMatchObject({ code: 'ATP_QMP_CONNECT' });
    }
  });

  it('timeoutMs: Infinity waits for the reply instead of timing out at once', async () => {
    let release: () => void = () => undefined;
    let received = false;
    const peer = await fakePeer(GREETING, (s, c) => {
      const reply = (): boolean => s.write(`{"return": {"late": true}, "id": ${JSON.stringify(c.id)}}\r\n`);
      if (c.execute === 'qmp_capabilities') return void reply();
      received = true;
      release = reply;
    });
    const client = await connect(peer);
    const result = client.execute('slow', undefined, { timeoutMs: Number.POSITIVE_INFINITY }).then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    );
    await until(() => received);
    // Past the 1 ms Node would have turned Infinity into.
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect(await result).toEqual({ v: { late: true } });
    const event = client.waitForEvent('NEVER', { timeoutMs: Number.POSITIVE_INFINITY }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await client.close();
    expect(await event).toMatchObject({ code: 'ATP_QMP_CLOSED' });
  });
});
