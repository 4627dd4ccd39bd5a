/**
 * Bad frames over real sockets: each closes only its own session with an error
 * message carrying the reason code, is counted, and neither the hub nor a
 * bystander session notices.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHub } from '../src/hub/index.js';
import { keyEvent, RawHubClient, type RawTarget } from './support/hub-client.js';

const TOKEN = 'frames-token';
const MAX_FRAME = 4096;
const WS_MAX_PAYLOAD = 16_384;
let hub: AgentHub;
let tcpPort = 0;
let wsPort = 0;

beforeAll(async () => {
  hub = await AgentHub.create({ auth: { tokens: [TOKEN] }, limits: { maxFrameBytes: MAX_FRAME, wsMaxPayloadBytes: WS_MAX_PAYLOAD } });
  tcpPort = (await hub.listenTcp()).port;
  wsPort = (await hub.listenWs()).port;
});

afterAll(async () => {
  await hub.close();
});

type BadFrame = { kind: 'text'; text: string; codes: string[] } | { kind: 'bytes'; bytes: Uint8Array; codes: string[] } | { kind: 'oversize'; size: number; codes: string[] };

const notBlank = (s: string): boolean => s.trim() !== '';
const invalidJson = fc
  .string({ minLength: 1, maxLength: 200, unit: 'grapheme' })
  .filter((s) => !s.includes('\n') && notBlank(s.replace(/\r$/, '')))
  .filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  })
  .map((text): BadFrame => ({ kind: 'text', text, codes: ['ATP_FRAME_INVALID_JSON'] }));
const wrongJson = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.stringify(v))
  .filter((s) => s.length <= MAX_FRAME && notBlank(s))
  .map((text): BadFrame => ({ kind: 'text', text, codes: ['ATP_SCHEMA_INVALID', 'ATP_PROTOCOL_VERSION'] }));
const wrongEnvelope = fc
  .record({ v: fc.constantFrom(1, 2), type: fc.constantFrom('hello', 'events', 'nope'), body: fc.object({ maxDepth: 2 }) })
  .map((m): BadFrame => ({ kind: 'text', text: JSON.stringify(m), codes: ['ATP_SCHEMA_INVALID', 'ATP_PROTOCOL_VERSION'] }));
const randomBytes = fc
  .uint8Array({ minLength: 1, maxLength: 300 })
  .map((b) => b.filter((x) => x !== 0x0a))
  .filter((b) => notBlank(new TextDecoder().decode(b).replace(/\r$/, '')))
  .map((bytes): BadFrame => ({ kind: 'bytes', bytes, codes: ['ATP_FRAME_INVALID_UTF8', 'ATP_FRAME_INVALID_JSON', 'ATP_SCHEMA_INVALID', 'ATP_PROTOCOL_VERSION', 'ATP_HUB_FRAME'] }));
const oversize = fc.integer({ min: MAX_FRAME + 1, max: WS_MAX_PAYLOAD - 1 }).map((size): BadFrame => ({ kind: 'oversize', size, codes: ['ATP_FRAME_TOO_LARGE'] }));
const badFrame = fc.oneof(invalidJson, wrongJson, wrongEnvelope, randomBytes, oversize);

async function sendBad(client: RawHubClient, frame: BadFrame, ws: boolean): Promise<void> {
  const eol = ws ? '' : '\n';
  if (frame.kind === 'text') client.sendRaw(`${frame.text}${eol}`);
  else if (frame.kind === 'bytes') client.sendRaw(Buffer.concat([Buffer.from(frame.bytes), Buffer.from(eol)]), ws);
  else client.sendRaw(`"${'x'.repeat(frame.size - 2)}"${eol}`);
}

describe.each(['tcp', 'ws'] as const)('bad frames over %s', (kind) => {
  const target = (): RawTarget => (kind === 'tcp' ? { tcp: { port: tcpPort } } : { ws: `ws://127.0.0.1:${wsPort}/` });

  it('close only the offending session, with the reason code, counted', async () => {
    const bystander = await RawHubClient.connect(target());
    bystander.hello({ agentId: `bystander-${kind}`, bootId: 'b', token: TOKEN });
    await bystander.waitFor('welcome');
    let seq = 0;
    let runs = 0;
    const before = hub.metrics().badFramesTotal;
    try {
      await fc.assert(
        fc.asyncProperty(badFrame, fc.boolean(), async (frame, helloFirst) => {
          runs++;
          const c = await RawHubClient.connect(target());
          try {
            if (helloFirst) {
              c.hello({ agentId: `victim-${kind}-${runs}`, bootId: 'b', token: TOKEN });
              await c.waitFor('welcome');
            }
            await sendBad(c, frame, kind === 'ws');
            const error = await c.waitFor('error');
            expect(frame.codes).toContain(error.body.code);
            expect(error.body.fatal).toBe(true);
            expect(error.body.details?.reason).toBe(error.body.code);
            await c.waitClosed();
          } finally {
            c.close();
          }
          bystander.events('b', [keyEvent(++seq)]);
          await bystander.waitForAck(seq);
        }),
        { numRuns: 30 },
      );
      expect(hub.metrics().badFramesTotal - before).toBe(runs);
      expect(bystander.closed).toBe(false);
    } finally {
      bystander.close();
    }
  });
});

describe('frames beyond the WebSocket payload cap', () => {
  it('are cut by ws with close code 1009 and still counted', async () => {
    const before = hub.metrics().badFrames.ATP_FRAME_TOO_LARGE ?? 0;
    const c = await RawHubClient.connect({ ws: `ws://127.0.0.1:${wsPort}/` });
    c.sendRaw('y'.repeat(WS_MAX_PAYLOAD + 10));
    await c.waitClosed();
    expect(c.wsCloseCode).toBe(1009);
    await expect.poll(() => hub.metrics().badFrames.ATP_FRAME_TOO_LARGE ?? 0).toBe(before + 1);
  });

  it('binary frames are refused with ATP_HUB_FRAME', async () => {
    const c = await RawHubClient.connect({ ws: `ws://127.0.0.1:${wsPort}/` });
    c.sendRaw(Buffer.from('{}'), true);
    expect((await c.waitFor('error')).body.code).toBe('ATP_HUB_FRAME');
    await c.waitClosed();
  });
});
