/**
 * Fuzz targets for what guest agents and pages send the hub: NDJSON frames
 * (TCP and virtio-serial) through the agent's own decoder and through the
 * hub's path (NdjsonDecoder, then the hub's fast path for plain `events`
 * messages with zod behind it), and WebSocket text or binary frames through
 * decodeWsFrame. Beside "only typed, located rejections" and bounded buffers,
 * the hub's fast path must never accept what zod refuses. Seeds are the
 * messages of agent protocol v1 (protocol-schemas/src/agent-protocol.ts).
 */
import fc from 'fast-check';
import { AGENT_MAX_FRAME_BYTES, AgentMessageDecoder, AtpError, NdjsonDecoder, parseAgentMessage, PROTOCOL_VERSION } from '@atp/protocol';
import { toAgentMessage } from '../../src/hub/message-codec.js';
import { decodeWsFrame } from '../../src/hub/ws-listener.js';
import { InvariantBroken, namesPlace, type FuzzTarget } from './harness.js';
import { chunked, hostileJsonText, mutatedBytes } from './mutate.js';

const enc = new TextEncoder();
const v = PROTOCOL_VERSION;
const BOOT = '5c7a4b1e-2f3d-4e5a-8b6c-7d8e9f0a1b2c';

export const AGENT_VALUES: unknown[] = [
  {
    v,
    type: 'hello',
    body: {
      agentId: 'desk-07', bootId: BOOT, os: { platform: 'linux', release: '6.1.0', arch: 'x64', hostname: 'desk' }, captureBackends: ['linux-evdev'], capabilities: ['exec'],
      version: '0.1.0', token: 'tok-abcdefgh', lastSeq: 3, unacked: 0, overflowed: 0, devices: [], vmUuid: '0b5e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    },
  },
  { v, type: 'events', body: { bootId: BOOT, events: [{ seq: 1, t: 1700000000000.5, device: 'event1', kind: 'key', key: 'KEY_A', action: 'down', modifiers: [] }] } },
  { v, type: 'events', body: { bootId: BOOT, events: [{ seq: 2, t: 1700000000001, device: 'event4', kind: 'abs', x: 10, y: 20 }, { seq: 3, t: 1700000000002, device: 'event4', kind: 'wheel', dx: 0, dy: -1 }] } },
  { v, type: 'pong', body: { id: 7, t1: 1, t2: 2, t3: 3 } },
  { v, type: 'error', body: { code: 'ATP_CAPTURE_DEVICE_OPEN', message: 'cannot open /dev/input/event3' } },
];
const MAX = 4096; // a small frame limit makes the too-large path reachable

const frames = fc.oneof(
  mutatedBytes(AGENT_VALUES.map((m) => enc.encode(`${JSON.stringify(m)}\n`))),
  hostileJsonText(AGENT_VALUES).map((t) => enc.encode(`${t}\n`)),
);

const locates = (e: AtpError): boolean => namesPlace(e, ['field', 'issues', 'offset', 'length', 'size', 'maxBytes', 'reason', 'type']) || e.code === 'ATP_FRAME_INVALID_UTF8' || e.code === 'ATP_HUB_FRAME';

/** Zod must accept whatever the hub's fast path accepted. */
function sameAsZod(value: unknown): void {
  try {
    parseAgentMessage(value, 'fuzz');
  } catch (error) {
    if (error instanceof AtpError) throw new InvariantBroken(`the hub's fast path accepted what zod refuses (${error.code}: ${error.message})`);
    throw error;
  }
}

export const agentNdjsonTarget: FuzzTarget<Uint8Array[]> = {
  name: 'agent-frames-ndjson',
  boundary: "agent frames over TCP and virtio-serial (AgentMessageDecoder; the hub's NdjsonDecoder + message-codec.ts)",
  input: chunked(frames),
  maxMs: 1000,
  locates,
  open: () => ({
    run(chunks) {
      const agent = new AgentMessageDecoder({ maxFrameBytes: MAX, source: 'fuzz' });
      const hub = new NdjsonDecoder({ maxLineBytes: MAX });
      const errors: AtpError[] = [];
      for (const c of chunks) {
        for (const item of agent.push(c)) if (item.kind === 'error') errors.push(item.error);
        for (const item of hub.push(c)) {
          if (item.kind === 'error') {
            errors.push(item.error);
            continue;
          }
          try {
            sameAsZod(toAgentMessage(item.value, 'fuzz'));
          } catch (error) {
            if (!(error instanceof AtpError)) throw error;
            errors.push(error);
          }
        }
        if (agent.buffered > MAX + 1 || hub.buffered > MAX + 1) throw new InvariantBroken(`decoders hold ${agent.buffered} / ${hub.buffered} bytes, bound ${MAX}`);
      }
      return errors;
    },
  }),
};

export const agentWsTarget: FuzzTarget<{ bytes: Uint8Array; binary: boolean }> = {
  name: 'agent-frames-ws',
  boundary: 'agent and page frames over WebSocket (hub/ws-listener.ts decodeWsFrame)',
  input: fc.record({ bytes: frames.map((b) => b.subarray(0, Math.max(0, b.length - 1))), binary: fc.boolean() }),
  maxMs: 1000,
  locates,
  open: () => ({
    run({ bytes, binary }) {
      sameAsZod(decodeWsFrame(Buffer.from(bytes), binary, Math.min(MAX, AGENT_MAX_FRAME_BYTES), 'fuzz'));
      return [];
    },
  }),
};
