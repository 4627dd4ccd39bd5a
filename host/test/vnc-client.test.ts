/**
 * The VNC client against scripted RFB servers on a unix socket, for the faults
 * QEMU does not produce on demand (garbage, old versions, silence, security
 * types it lacks, a server that stops reading). QEMU itself: vnc-qemu*.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { connectVnc } from '../src/display/vnc/client.js';
import type { DisplayEndpoint } from '../src/display/endpoint.js';
import {
  decodeChallenge,
  decodeClientInit,
  decodeProtocolVersion,
  decodeSecurityChoice,
  encodeProtocolVersion,
  encodeSecurityResult,
  encodeSecurityTypes,
  encodeServerInit,
  vncAuthResponse,
} from '../src/display/vnc/handshake-codec.js';
import { Inbox } from '../src/display/vnc/inbox.js';
import { decodeClientMessage, encodeServerMessage, ENCODING, type ClientMessage, type Rect } from '../src/display/vnc/messages-codec.js';
import { openVncInjector } from '../src/inject/vnc-injector.js';

const PIXEL_FORMAT = { bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0 };
const CHALLENGE = Uint8Array.from({ length: 16 }, (_, i) => i * 7);

/** A scripted server's view of its one client. */
interface Peer {
  socket: net.Socket;
  inbox: Inbox;
  send(bytes: Uint8Array): void;
  /** Serves version, the given security types (auth checked against `password`) and ServerInit. */
  handshake(options?: { types?: number[]; password?: string; width?: number; height?: number }): Promise<void>;
  /** Reads client messages until `count` arrived. */
  messages(count: number): Promise<ClientMessage[]>;
  update(rects: Rect[]): void;
}

let dir: string;
let servers: net.Server[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vnc-client-'));
});
afterEach(async () => {
  for (const s of servers) s.close();
  servers = [];
  await rm(dir, { recursive: true, force: true });
});

async function serve(script: (peer: Peer) => Promise<void>, tcp = false): Promise<DisplayEndpoint> {
  const socketPath = path.join(dir, `vnc-${servers.length}.sock`);
  const server = net.createServer((socket) => {
    const inbox = new Inbox();
    socket.on('data', (chunk) => inbox.push(new Uint8Array(chunk)));
    socket.on('close', () => inbox.end(new AtpError('ATP_VNC_CLOSED', 'client gone')));
    socket.on('error', () => undefined);
    const peer: Peer = {
      socket,
      inbox,
      send: (bytes) => void socket.write(bytes),
      async handshake({ types = [1], password, width = 800, height = 600 } = {}) {
        peer.send(encodeProtocolVersion({ major: 3, minor: 8 }));
        await inbox.read(decodeProtocolVersion);
        peer.send(encodeSecurityTypes({ kind: 'types', types }));
        const chosen = await inbox.read(decodeSecurityChoice);
        if (chosen === 2) {
          peer.send(CHALLENGE);
          const response = await inbox.read(decodeChallenge);
          const ok = Buffer.from(response).equals(Buffer.from(vncAuthResponse(CHALLENGE, password ?? '')));
          peer.send(encodeSecurityResult(ok ? { ok: true } : { ok: false, status: 1, reason: 'Authentication failed' }));
          if (!ok) return void socket.end();
        } else {
          peer.send(encodeSecurityResult({ ok: true }));
        }
        await inbox.read(decodeClientInit);
        peer.send(encodeServerInit({ width, height, pixelFormat: PIXEL_FORMAT, name: 'scripted' }));
      },
      async messages(count) {
        const out: ClientMessage[] = [];
        while (out.length < count) out.push(await inbox.read(decodeClientMessage));
        return out;
      },
      update: (rects) => peer.send(encodeServerMessage({ type: 'framebufferUpdate', rects }, { bytesPerPixel: 4 })),
    };
    script(peer).catch(() => socket.destroy());
  });
  servers.push(server);
  if (tcp) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return { protocol: 'vnc', address: { kind: 'tcp', host: '127.0.0.1', port: address.port } };
  }
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { protocol: 'vnc', address: { kind: 'unix', path: socketPath } };
}

/** The usual answer to SetEncodings + the 1x1 update request: the ext-key ack when `extKeys`, then a Raw pixel. */
async function answerSetup(peer: Peer, extKeys = true): Promise<ClientMessage[]> {
  const setup = await peer.messages(2);
  if (extKeys) peer.update([{ x: 0, y: 0, width: 800, height: 600, encoding: ENCODING.qemuExtendedKeyEvent }]);
  peer.update([{ x: 0, y: 0, width: 1, height: 1, encoding: ENCODING.raw, pixels: new Uint8Array(4) }]);
  return setup;
}

async function failure(promise: Promise<unknown>): Promise<AtpError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(error instanceof AtpError)) throw error;
  return error;
}

describe('VNC client against scripted servers', () => {
  it('handshakes, announces its encodings, learns ext-key support and follows DesktopSize', async () => {
    let setup: ClientMessage[] = [];
    let resized: () => void = () => undefined;
    const endpoint = await serve(async (peer) => {
      await peer.handshake();
      setup = await answerSetup(peer);
      await new Promise<void>((r) => (resized = r));
      peer.update([{ x: 0, y: 0, width: 1024, height: 768, encoding: ENCODING.desktopSize }]);
    });
    const { client, timings } = await connectVnc(endpoint);
    expect(setup).toEqual([
      { type: 'setEncodings', encodings: [16, 0, -223, -261, -258] },
      { type: 'framebufferUpdateRequest', incremental: false, x: 0, y: 0, width: 1, height: 1 },
    ]);
    expect(client.extendedKeyEvents).toBe(true);
    expect(client.surface).toEqual({ width: 800, height: 600 });
    expect(timings.readyMs).toBeGreaterThanOrEqual(timings.handshakeMs);
    resized();
    await expect.poll(() => client.surface).toEqual({ width: 1024, height: 768 });
    await client.close();
    const closed = await failure(client.send([{ type: 'keyEvent', down: true, keysym: 0x61 }]));
    expect([closed.code, closed.message]).toEqual(['ATP_VNC_CLOSED', expect.stringMatching(/^the VNC client for vnc\+unix:.* was closed by its owner$/)]);
  });

  it('connects over TCP too, and names a refused TCP endpoint', async () => {
    const endpoint = await serve(async (peer) => {
      await peer.handshake({ width: 1280, height: 1024 });
      await answerSetup(peer);
    }, true);
    const { client } = await connectVnc(endpoint);
    expect(client.surface).toEqual({ width: 1280, height: 1024 });
    await client.close();
    const port = endpoint.address.kind === 'tcp' ? endpoint.address.port : 0;
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 50));
    const refused = await failure(connectVnc({ ...endpoint, password: 'hidden-pw' }));
    expect([refused.code, refused.message]).toEqual(['ATP_VNC_CONNECT', `cannot connect to the VNC server vnc://127.0.0.1:${port} (password): connect ECONNREFUSED 127.0.0.1:${port}`]);
  });

  it('falls back to keysym KeyEvents when the server does not announce the extended key event', async () => {
    let keys: ClientMessage[] = [];
    const endpoint = await serve(async (peer) => {
      await peer.handshake();
      await answerSetup(peer, false);
      keys = await peer.messages(2);
    });
    const injector = await openVncInjector(endpoint, { width: 800, height: 600 });
    expect(injector.keyMode).toBe('keysym');
    await injector.send([{ kind: 'key', key: 'KEY_HOME', down: true }, { kind: 'key', key: 'KEY_HOME', down: false }]);
    await expect.poll(() => keys).toEqual([{ type: 'keyEvent', down: true, keysym: 0xff50 }, { type: 'keyEvent', down: false, keysym: 0xff50 }]);
    await injector.close();
    const plain = await serve(async (peer) => {
      await peer.handshake();
      await answerSetup(peer, false);
    });
    const refused = await failure(openVncInjector(plain, { width: 800, height: 600 }, { keys: 'extended' }));
    expect(refused.code).toBe('ATP_VNC_PROTOCOL');
    expect(refused.message).toMatch(/did not announce the QEMU extended key event/);
  });

  it('authenticates with VNC authentication, and says so when a password is wanted but none was given', async () => {
    const script = async (peer: Peer): Promise<void> => {
      await peer.handshake({ types: [2], password: 'pw-1234' });
      await answerSetup(peer);
    };
    const endpoint = await serve(script);
    const ok = await connectVnc({ ...endpoint, password: 'pw-1234' });
    expect(ok.client.session.security).toBe('vnc-auth');
    await ok.client.close();
    const none = await failure(connectVnc(await serve(script)));
    expect(none.code).toBe('ATP_VNC_AUTH');
    expect(none.message).toMatch(/wants a password \(VNC authentication\) and none was given/);
    const wrong = await failure(connectVnc({ ...(await serve(script)), password: 'guess-secret' }));
    expect(wrong.code).toBe('ATP_VNC_AUTH');
    expect(wrong.message).toMatch(/refused the password: "Authentication failed"/);
    expect(JSON.stringify([wrong.message, wrong.details])).not.toContain('guess-secret');
  });

  it('refuses security types it does not speak, and quotes a server that refuses the connection', async () => {
    const vencrypt = await failure(connectVnc(await serve((peer) => peer.handshake({ types: [19, 18] }))));
    expect(vencrypt.code).toBe('ATP_VNC_AUTH');
    expect(vencrypt.message).toMatch(/offers security types VeNCrypt \(19\), TLS \(18\)/);
    const refused = await failure(
      connectVnc(
        await serve(async (peer) => {
          peer.send(encodeProtocolVersion({ major: 3, minor: 8 }));
          await peer.inbox.read(decodeProtocolVersion);
          peer.send(encodeSecurityTypes({ kind: 'failed', reason: 'Too many clients' }));
        }),
      ),
    );
    expect([refused.code, refused.message]).toEqual(['ATP_VNC_CONNECT', expect.stringMatching(/refused the connection: "Too many clients"/)]);
  });

  it('gives typed errors for garbage, old versions, silence and a refused socket', async () => {
    const garbage = await failure(connectVnc(await serve(async (peer) => peer.send(new TextEncoder().encode('SSH-2.0-OpenSSH_9.2\r\n')))));
    expect([garbage.code, garbage.message]).toEqual(['ATP_VNC_PROTOCOL', expect.stringMatching(/ProtocolVersion is not "RFB xxx.yyy\\n": "SSH-2.0-Open/)]);
    const old = await failure(connectVnc(await serve(async (peer) => peer.send(encodeProtocolVersion({ major: 3, minor: 3 })))));
    expect([old.code, old.message]).toEqual(['ATP_VNC_PROTOCOL', expect.stringMatching(/speaks RFB 3.3; this client needs 3.8/)]);
    const silent = await serve(() => new Promise(() => undefined));
    const started = Date.now();
    const timeout = await failure(connectVnc({ ...silent, password: 'secret-pw' }, { timeoutMs: 300 }));
    expect([timeout.code, timeout.message]).toEqual(['ATP_VNC_CONNECT', expect.stringMatching(/no complete VNC handshake with vnc\+unix:.* \(password\) within 300 ms \(waiting for: the server ProtocolVersion\)/)]);
    expect(timeout.message).not.toContain('secret-pw');
    expect(Date.now() - started).toBeLessThan(3000);
    const gone = await failure(connectVnc({ protocol: 'vnc', address: { kind: 'unix', path: path.join(dir, 'nobody.sock') } }));
    expect([gone.code, gone.message]).toEqual(['ATP_VNC_CONNECT', expect.stringMatching(/cannot connect to the VNC server vnc\+unix:.*nobody.sock: .*ENOENT/)]);
    const closedEarly = await failure(connectVnc(await serve(async (peer) => void peer.socket.end())));
    expect([closedEarly.code, closedEarly.message]).toEqual(['ATP_VNC_CONNECT', expect.stringMatching(/closed the connection during the handshake \(while waiting for: the server ProtocolVersion\)/)]);
  });

  it('drops the connection on a malformed server message, rejecting pending and later writes', async () => {
    let breakIt: () => void = () => undefined;
    const endpoint = await serve(async (peer) => {
      await peer.handshake();
      await answerSetup(peer);
      await new Promise<void>((r) => (breakIt = r));
      peer.send(Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 7));
    });
    const { client } = await connectVnc(endpoint);
    breakIt();
    await expect.poll(() => client.closedError?.code).toBe('ATP_VNC_PROTOCOL');
    expect(client.closedError?.message).toMatch(/rectangle 0 has encoding 7/);
    expect((await failure(client.send([{ type: 'keyEvent', down: true, keysym: 1 }]))).code).toBe('ATP_VNC_PROTOCOL');
  });

  it('rejects a write the server does not take in time, and every write once the server is gone, without hanging', async () => {
    let peerSocket: net.Socket | undefined;
    const endpoint = await serve(async (peer) => {
      await peer.handshake();
      await answerSetup(peer);
      peerSocket = peer.socket;
      peer.socket.pause();
    });
    const { client } = await connectVnc(endpoint, { writeTimeoutMs: 500 });
    const stuck = await failure(client.write(new Uint8Array(32 * 1024 * 1024)));
    expect([stuck.code, stuck.message]).toEqual(['ATP_VNC_CLOSED', expect.stringMatching(/did not take 33554432 bytes within 500 ms; connection dropped/)]);
    expect(peerSocket).toBeDefined();

    const second = await serve(async (peer) => {
      await peer.handshake();
      await answerSetup(peer);
      await peer.messages(1);
      peer.socket.destroy();
    });
    const injector = await openVncInjector(second, { width: 800, height: 600 });
    await injector.send([{ kind: 'move', x: 1, y: 1 }]);
    await expect.poll(() => injector.client.closedError?.code).toBe('ATP_VNC_CLOSED');
    const error = await failure(injector.send([{ kind: 'key', key: 'KEY_A', down: true }]));
    expect(error.code).toBe('ATP_VNC_CLOSED');
    expect(error.details.sentCount).toBe(0);
    await injector.close();
  });
});
