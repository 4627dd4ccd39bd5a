/**
 * Abuse: slow senders that never finish a frame, against a real hub over TCP
 * and WebSocket. A frame begun must end within frameTimeoutMs, before hello
 * (bytes trickling with no newline) and after it (an authenticated agent's
 * events frame left open); offenders are cut with ATP_HUB_FRAME_TIMEOUT,
 * counted, while a legitimate agent keeps getting its events acknowledged.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHub } from '../src/hub/index.js';
import { attack, helloLine } from './hub-abuse-attack.js';
import { LegitAgent, logFigures, pct } from './hub-abuse-support.js';

const TOKEN = 'abuse-slow-token';
const FRAME_TIMEOUT = 1000;
let hub: AgentHub | undefined;
const cleanup: (() => void)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0)) c();
  await hub?.close();
  hub = undefined;
});

async function start(): Promise<{ h: AgentHub; tcp: number; ws: number; legit: LegitAgent }> {
  // Hello timeout far above the frame timeout: what cuts must be the frame deadline.
  const h = await AgentHub.create({ auth: { tokens: [TOKEN] }, limits: { frameTimeoutMs: FRAME_TIMEOUT, helloTimeoutMs: 30_000 } });
  hub = h;
  const tcp = (await h.listenTcp()).port;
  const ws = (await h.listenWs()).port;
  const legit = await LegitAgent.connect(tcp, '127.0.0.2');
  cleanup.push(() => legit.close());
  await legit.hello('legit', TOKEN);
  return { h, tcp, ws, legit };
}

/** A raw WebSocket client: the upgrade by hand, then a masked text frame announcing `length` bytes of which only `sent` are written. */
async function partialWsFrame(port: number, length: number, sent: string, before = ''): Promise<{ socket: net.Socket; codes: () => string[]; closed: Promise<number> }> {
  const socket = net.createConnection({ host: '127.0.0.1', port, localAddress: '127.0.1.7' });
  cleanup.push(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('error', reject));
  const t0 = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - t0)));
  socket.on('error', () => undefined);
  let text = '';
  socket.setEncoding('latin1').on('data', (d: string) => (text += d));
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from('abuse-slow-01234').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const deadline = Date.now() + 10_000;
  while (!text.includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(text).toMatch(/^HTTP\/1\.1 101/);
  const mask = Buffer.from([1, 2, 3, 4]);
  const frame = (payload: string, announced: number): Buffer => {
    const body = Buffer.from(payload);
    const masked = Buffer.from(body.map((b, i) => b ^ (mask[i % 4] ?? 0)));
    const header = announced < 126 ? Buffer.from([0x81, 0x80 | announced]) : Buffer.from([0x81, 0x80 | 126, announced >> 8, announced & 0xff]);
    return Buffer.concat([header, mask, masked]);
  };
  if (before !== '') socket.write(frame(before, Buffer.byteLength(before)));
  socket.write(frame(sent, length));
  // The error the hub sends comes in unmasked text frames after the 101 response: its code is in the JSON.
  const codes = (): string[] => [...text.matchAll(/"code":"(ATP_[A-Z_]+)"/g)].map((m) => m[1] ?? '');
  return { socket, codes, closed };
}

describe('hub abuse: slow senders', () => {
  it('cuts TCP senders trickling a hello, or an events frame after hello, with ATP_HUB_FRAME_TIMEOUT; a legit agent is unaffected', async () => {
    const { h, tcp, legit } = await start();
    const [preHello, postHello] = await Promise.all([
      attack({ kind: 'slow', port: tcp, count: 20, addresses: ['127.0.1.1'], intervalMs: 100, holdMs: 8000 }),
      attack({ kind: 'slow', port: tcp, count: 20, addresses: ['127.0.1.2'], intervalMs: 100, holdMs: 8000, token: TOKEN }),
      legit.sendEvents(40, 50),
    ]);
    for (const r of [preHello, postHello]) {
      expect(r.codes).toEqual({ ATP_HUB_FRAME_TIMEOUT: 20 });
      // Cut at the frame deadline plus the sweep (a quarter of it) and a loaded machine's slack.
      expect(r.cutMs.max).toBeGreaterThanOrEqual(FRAME_TIMEOUT - 100);
      expect(r.cutMs.max).toBeLessThan(FRAME_TIMEOUT + 5000);
    }
    const m = h.metrics();
    expect(m.frameTimeouts).toBe(40);
    expect(m.cuts.ATP_HUB_FRAME_TIMEOUT).toBe(40);
    expect(m.helloTimeouts).toBe(0);
    expect(legit.ackLatencies.length).toBe(40);
    logFigures('slow TCP senders (20 before hello, 20 after)', { preHello: { codes: preHello.codes, cutMsMax: preHello.cutMs.max }, postHello: { codes: postHello.codes, cutMsMax: postHello.cutMs.max }, frameTimeoutMs: FRAME_TIMEOUT, legitAckP99Ms: pct(legit.ackLatencies, 0.99) });
  }, 30_000);

  it('cuts a WebSocket frame left unfinished, before and after hello, with ATP_HUB_FRAME_TIMEOUT', async () => {
    const { h, ws, legit } = await start();
    const pre = await partialWsFrame(ws, 1000, '{"v":1,"type":"hel');
    const post = await partialWsFrame(ws, 1000, '{"v":1,"type":"eve', helloLine('ws-slow', TOKEN).trimEnd());
    // Keep trickling one byte a while (each chunk is a fragment of the same frame, never finished).
    const trickle = setInterval(() => {
      for (const c of [pre, post]) if (!c.socket.destroyed) c.socket.write(Buffer.from([0x20 ^ 1]));
    }, 200);
    cleanup.push(() => clearInterval(trickle));
    await legit.sendEvents(20, 50);
    const [preMs, postMs] = await Promise.all([pre.closed, post.closed]);
    clearInterval(trickle);
    expect(pre.codes()).toEqual(['ATP_HUB_FRAME_TIMEOUT']);
    expect(post.codes()).toEqual(['ATP_HUB_FRAME_TIMEOUT']);
    // Closed after the deadline, within the close grace (2 s) plus slack.
    for (const ms of [preMs, postMs]) {
      expect(ms).toBeGreaterThanOrEqual(FRAME_TIMEOUT - 100);
      expect(ms).toBeLessThan(FRAME_TIMEOUT + 10_000);
    }
    expect(h.metrics().frameTimeouts).toBe(2);
    expect(h.metrics().sessionsAdmitted).toBe(2);
    logFigures('slow WebSocket frames (before and after hello)', { codes: [...pre.codes(), ...post.codes()], closedAfterMs: [preMs, postMs], frameTimeoutMs: FRAME_TIMEOUT });
  }, 30_000);
});
