/**
 * The SPICE client and injector against a scriptable server
 * (spice-fake-server.ts), for what a real QEMU cannot be made to do on cue:
 * the channel chores (ACK_SYNC, ACK windows, PONG), malformed and missing
 * messages, refused tickets, withheld motion acks, and a server that drops
 * its clients while still listening versus one that is gone. Plus the
 * injector's plan on the wire: server-mode moves sent as relative motion,
 * the buttons mask, wheel notches.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SpiceClient } from '../src/display/spice/client.js';
import { encodeBaseServerMessage } from '../src/display/spice/codec.js';
import { ChannelType } from '../src/display/spice/constants.js';
import { encodeMainServerMessage } from '../src/display/spice/main-codec.js';
import { openSpiceInjector } from '../src/inject/spice-injector.js';
import { FakeSpiceServer } from './spice-fake-server.js';

let server: FakeSpiceServer | undefined;
let client: SpiceClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.stop();
  client = undefined;
  server = undefined;
});

const kinds = (channel: number): string[] => (server?.received ?? []).filter((r) => r.channel === channel).map((r) => r.message.kind);

describe('channel chores', () => {
  it('answers SET_ACK with ACK_SYNC, acks every window messages, answers PING with PONG', async () => {
    server = await FakeSpiceServer.start();
    client = await SpiceClient.connect(server.endpoint);
    server.send(ChannelType.main, encodeBaseServerMessage({ kind: 'setAck', generation: 7, window: 2 }));
    server.send(ChannelType.main, encodeBaseServerMessage({ kind: 'ping', id: 5, timestamp: 99n, data: new Uint8Array(64) }));
    for (let i = 0; i < 3; i++) server.send(ChannelType.main, encodeMainServerMessage({ kind: 'other', type: 106, body: new Uint8Array(4) }));
    await server.waitFor(() => kinds(ChannelType.main).filter((k) => k === 'ack').length === 2, 'two ACKs');
    const main = server.received.filter((r) => r.channel === ChannelType.main).map((r) => r.message);
    expect(main).toContainEqual({ kind: 'ackSync', generation: 7 });
    expect(main).toContainEqual({ kind: 'pong', id: 5, timestamp: 99n });
    expect(client.lockModifiers).toBe(2);
  });
});

describe('handshake failures', () => {
  it('a wrong password is ATP_SPICE_AUTH naming the endpoint, never the password', async () => {
    server = await FakeSpiceServer.start({ password: 'right-one' });
    const error = await SpiceClient.connect({ ...server.endpoint, password: 'wrong-one' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ATP_SPICE_AUTH', message: expect.stringMatching(/spice\+unix:\/\/.*refused the ticket for the main channel/) });
    expect(JSON.stringify({ m: (error as Error).message, d: (error as { details: unknown }).details })).not.toContain('wrong-one');
  });

  it('a truncated main INIT is ATP_SPICE_PROTOCOL saying which field was cut', async () => {
    server = await FakeSpiceServer.start({ initBody: new Uint8Array(10) });
    await expect(SpiceClient.connect(server.endpoint)).rejects.toMatchObject({ code: 'ATP_SPICE_PROTOCOL', message: expect.stringMatching(/main INIT is truncated: supportedMouseModes needs 4 bytes at offset 8/) });
  });

  it('a server that never sends INIT fails the connect in time, naming what it waited for', async () => {
    server = await FakeSpiceServer.start({ initBody: null });
    const started = Date.now();
    await expect(SpiceClient.connect(server.endpoint, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'ATP_SPICE_PROTOCOL', message: expect.stringMatching(/did not send the main channel INIT within 300 ms/) });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('asking for a mouse mode the server does not offer is ATP_SPICE_MOUSE_MODE listing what it offers', async () => {
    server = await FakeSpiceServer.start({ supportedModes: 1 });
    await expect(SpiceClient.connect(server.endpoint, { mouseMode: 'client' })).rejects.toMatchObject({
      code: 'ATP_SPICE_MOUSE_MODE',
      message: expect.stringMatching(/does not offer client mouse mode; it offers: server \(client mode needs an absolute pointing device/),
    });
  });

  it('nothing listening is ATP_SPICE_CONNECT naming the endpoint', async () => {
    await expect(SpiceClient.connect({ protocol: 'spice', address: { kind: 'unix', path: '/nonexistent/spice.sock' } })).rejects.toMatchObject({
      code: 'ATP_SPICE_CONNECT',
      message: expect.stringMatching(/spice\+unix:\/\/\/nonexistent\/spice.sock/),
    });
  });
});

describe('motion flow control', () => {
  it('holds the ninth unacked motion until the server acks, then sends it', async () => {
    server = await FakeSpiceServer.start({ ackMotions: false });
    client = await SpiceClient.connect(server.endpoint);
    for (let i = 0; i < 8; i++) await client.sendInput({ kind: 'mouseMotion', dx: 1, dy: 0, buttons: 0 });
    let ninthSent = false;
    const ninth = client.sendInput({ kind: 'mouseMotion', dx: 9, dy: 0, buttons: 0 }).then(() => (ninthSent = true));
    await server.waitFor(() => kinds(ChannelType.inputs).filter((k) => k === 'mouseMotion').length === 8, 'eight motions');
    await new Promise((r) => setTimeout(r, 200));
    expect(ninthSent).toBe(false);
    server.ackOwedMotions();
    await ninth;
    await server.waitFor(() => kinds(ChannelType.inputs).filter((k) => k === 'mouseMotion').length === 9, 'the ninth motion');
  });
});

describe('losing the session', () => {
  it('dropped while the server still listens: ATP_SPICE_SESSION_TAKEN on the next send', async () => {
    server = await FakeSpiceServer.start();
    client = await SpiceClient.connect(server.endpoint);
    server.dropClients();
    const ended = await waitEnded(client);
    expect(ended.code).toBe('ATP_SPICE_SESSION_TAKEN');
    await expect(client.sendInput({ kind: 'keyDown', code: 0x1e })).rejects.toMatchObject({ code: 'ATP_SPICE_SESSION_TAKEN', message: expect.stringMatching(/another SPICE client took the session/) });
  });

  it('server gone: ATP_SPICE_CLOSED, and a motion waiting for an ack rejects promptly', async () => {
    server = await FakeSpiceServer.start({ ackMotions: false });
    client = await SpiceClient.connect(server.endpoint);
    for (let i = 0; i < 8; i++) await client.sendInput({ kind: 'mouseMotion', dx: 1, dy: 0, buttons: 0 });
    const waiting = client.sendInput({ kind: 'mouseMotion', dx: 1, dy: 0, buttons: 0 }).catch((e: unknown) => e);
    const started = Date.now();
    await server.stop();
    server = undefined;
    expect(await waiting).toMatchObject({ code: 'ATP_SPICE_CLOSED', message: expect.stringMatching(/answers a SPICE link any more: the SPICE server \(QEMU\) is gone/) });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('injector on the wire', () => {
  it('server mode: moves go as relative motion from the last position and are recorded as moveBy; buttons carry the mask; wheel notches are press+release', async () => {
    server = await FakeSpiceServer.start();
    const injector = await openSpiceInjector(server.endpoint, { width: 1024, height: 768 }, { mouseMode: 'server' });
    try {
      const sent = await injector.send([
        { kind: 'move', x: 100, y: 50 },
        { kind: 'move', x: 90, y: 70 },
        { kind: 'button', button: 'left', down: true },
        { kind: 'button', button: 'right', down: true },
        { kind: 'moveBy', dx: 3, dy: -4 },
        { kind: 'button', button: 'left', down: false },
        { kind: 'wheel', dx: 0, dy: 2 },
        { kind: 'button', button: 'right', down: false },
      ]);
      expect(sent.map((s) => s.action).slice(0, 2)).toEqual([{ kind: 'moveBy', dx: 100, dy: 50 }, { kind: 'moveBy', dx: -10, dy: 20 }]);
      expect(sent.map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      await server.waitFor(() => kinds(ChannelType.inputs).filter((k) => k === 'mouseRelease').length === 4, 'four releases');
      const inputs = server.received.filter((r) => r.channel === ChannelType.inputs).map((r) => r.message);
      expect(inputs).toEqual([
        { kind: 'keyModifiers', modifiers: 0 },
        { kind: 'mouseMotion', dx: 100, dy: 50, buttons: 0 },
        { kind: 'mouseMotion', dx: -10, dy: 20, buttons: 0 },
        { kind: 'mousePress', button: 1, buttons: 1 },
        { kind: 'mousePress', button: 3, buttons: 5 },
        { kind: 'mouseMotion', dx: 3, dy: -4, buttons: 5 },
        { kind: 'mouseRelease', button: 1, buttons: 4 },
        { kind: 'mousePress', button: 5, buttons: 4 | 16 },
        { kind: 'mouseRelease', button: 5, buttons: 4 },
        { kind: 'mousePress', button: 5, buttons: 4 | 16 },
        { kind: 'mouseRelease', button: 5, buttons: 4 },
        { kind: 'mouseRelease', button: 3, buttons: 0 },
      ]);
    } finally {
      await injector.close();
    }
  });

  it('client mode: positions scaled to the surface the display channel announced; moveBy and horizontal wheel are refused', async () => {
    server = await FakeSpiceServer.start({ surface: { width: 800, height: 600 } });
    const injector = await openSpiceInjector(server.endpoint, { width: 1600, height: 1200 }, { mouseMode: 'client', lockModifiers: 'keep' });
    try {
      await injector.send([{ kind: 'move', x: 1599, y: 0 }]);
      await server.waitFor(() => kinds(ChannelType.inputs).includes('mousePosition'), 'a position');
      expect(server.received.find((r) => r.message.kind === 'mousePosition')?.message).toEqual({ kind: 'mousePosition', x: 800, y: 0, buttons: 0, displayId: 0 });
      await expect(injector.send([{ kind: 'moveBy', dx: 1, dy: 1 }])).rejects.toMatchObject({ code: 'ATP_INJECT_ACTION_UNSUPPORTED' });
      await expect(injector.send([{ kind: 'wheel', dx: 1, dy: 0 }])).rejects.toMatchObject({ code: 'ATP_INJECT_ACTION_UNSUPPORTED', message: expect.stringMatching(/no horizontal wheel/) });
      expect(kinds(ChannelType.inputs)).not.toContain('keyModifiers');
    } finally {
      await injector.close();
    }
  });
});

async function waitEnded(c: SpiceClient): Promise<{ code: string }> {
  const deadline = Date.now() + 5000;
  while (c.ended === undefined) {
    if (Date.now() > deadline) throw new Error('the client did not notice the drop within 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  return c.ended;
}
