import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGENT_MESSAGE_TYPES,
  AgentMessageDecoder,
  MAX_EVENTS_PER_BATCH,
  PROTOCOL_VERSION,
  agentMessage,
  encodeAgentMessage,
  parseAgentMessage,
} from '../src/agent-protocol.js';
import type { AgentMessage, AgentMessageBodyInput, AgentMessageType, ObservedEventInput } from '../src/agent-protocol.js';
import type { AtpError } from '../src/errors.js';
import { agentMessageArb } from './support/agent-arbitraries.js';

const device = { id: 'event3', name: 'QEMU Virtio Keyboard', kind: 'keyboard', bus: 'virtio', absRange: { xMin: 0, xMax: 32767, yMin: 0, yMax: 32767 } } as const;

const events: ObservedEventInput[] = [
  { kind: 'key', seq: 1, t: 10.5, device: 'event3', key: 'KEY_A', action: 'down', native: { evdev: 30, scancode: 0x1e }, modifiers: ['shift'] },
  { kind: 'key', seq: 2, t: 260, device: 'event3', key: 'KEY_A', action: 'repeat' },
  { kind: 'button', seq: 3, t: 11, device: 'event4', button: 'left', action: 'down', x: 5, y: 6 },
  { kind: 'button', seq: 4, t: 11, device: 'event4', button: 'BTN_TOOL_PEN', action: 'up' },
  { kind: 'rel', seq: 5, t: 12, device: 'event5', dx: -3, dy: 4 },
  { kind: 'abs', seq: 6, t: 13, device: 'event6', x: 16384, y: 100, range: device.absRange },
  { kind: 'wheel', seq: 7, t: 14, device: 'event5', dy: -1, hiRes: { dx: 0, dy: -120 } },
  { kind: 'sync-dropped', seq: 8, t: 15, device: 'event3', lost: 25 },
  { kind: 'sync-dropped', seq: 9, t: 15.5, device: 'event3' },
  { kind: 'text', seq: 10, t: 16, device: '', text: 'é', inputType: 'insertText', composing: false },
  { kind: 'composition', seq: 11, t: 17, device: '', phase: 'update', data: 'ni' },
  { kind: 'focus', seq: 12, t: 18, device: '', state: 'blur' },
  { kind: 'device', seq: 13, t: 19, device: 'event3', change: 'added', info: device },
];

const bodies: { [T in AgentMessageType]: AgentMessageBodyInput<T> } = {
  hello: {
    agentId: 'vm-01.lab:agent_1',
    bootId: 'b7f3',
    os: { platform: 'linux', release: '6.1.0', arch: 'x64', hostname: 'guest' },
    captureBackends: ['linux-evdev'],
    capabilities: ['exec', 'resend'],
    version: '0.1.0',
    token: 's3cret',
    lastSeq: null,
    unacked: 0,
    overflowed: 0,
    devices: [device],
  },
  welcome: { sessionId: 'sess-1', ackedSeq: 41, hostTime: 1_700_000_000_000.25, heartbeatMs: 5000 },
  events: { bootId: 'b7f3', events },
  ack: { bootId: 'b7f3', seq: 13 },
  ping: { id: 7, t1: 123.456 },
  pong: { id: 7, t1: 123.456, t2: 5000.1, t3: 5000.2 },
  'capture-start': { backends: ['linux-evdev'], devices: ['event3'] },
  'capture-stop': {},
  'exec-request': { id: 'x1', argv: ['ls', '-l'], cwd: '/', env: { LC_ALL: 'C' }, stdinB64: 'aGk=', timeoutMs: 1000, maxOutputBytes: 65536 },
  'exec-result': {
    id: 'x1',
    exitCode: null,
    signal: 'SIGKILL',
    stdoutB64: '',
    stderrB64: 'b29wcw==',
    stdoutTruncated: false,
    stderrTruncated: true,
    durationMs: 12.5,
    error: { code: 'ENOENT', message: 'spawn failed' },
  },
  error: { code: 'ATP_SCHEMA_INVALID', message: 'bad', details: { path: 'body.x' }, fatal: true },
  status: { step: { index: 0, total: 3, name: 'type "hi"' }, verdict: 'running', detail: 'suite x' },
};

function decodeAll(bytes: Uint8Array, cuts: number[] = []): ReturnType<AgentMessageDecoder['push']> {
  const d = new AgentMessageDecoder({ source: 'agent a1' });
  const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
  const out: ReturnType<AgentMessageDecoder['push']> = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    out.push(...d.push(bytes.subarray(start, p)));
    start = p;
  }
  return out;
}

function caught(fn: () => unknown): AtpError {
  try {
    fn();
  } catch (e) {
    return e as AtpError;
  }
  throw new Error('expected a throw');
}

const envelope = (type: string, body: unknown): Record<string, unknown> => ({ v: 1, type, body });
const withEvent = (patch: Record<string, unknown>, index = 0): Record<string, unknown> =>
  envelope('events', { bootId: 'b', events: events.map((e, i) => (i === index ? { ...e, ...patch } : e)) });

describe('agent protocol v1', () => {
  it('covers every message type in these examples', () => {
    expect(Object.keys(bodies).sort()).toEqual([...AGENT_MESSAGE_TYPES].sort());
    expect(PROTOCOL_VERSION).toBe(1);
  });

  it.each(AGENT_MESSAGE_TYPES)('%s round-trips: construct → encode → decode', (type) => {
    const msg = agentMessage(type, bodies[type] as never);
    expect(msg).toMatchObject({ v: 1, type });
    const out = decodeAll(encodeAgentMessage(msg));
    expect(out).toEqual([{ kind: 'message', message: msg }]);
  });

  it('fills defaults and strips unknown body fields (forward compatible), but not unknown envelope fields', () => {
    const msg = parseAgentMessage(envelope('events', { bootId: 'b', future: 1, events: [{ ...events[6], shiny: true }] }));
    expect(msg.type === 'events' && msg.body.events[0]).toEqual({ ...events[6], dx: 0 });
    expect(msg.body).not.toHaveProperty('future');
    const err = caught(() => parseAgentMessage({ ...envelope('ack', { bootId: 'b', seq: 1 }), extra: 1 }));
    expect(err.code).toBe('ATP_SCHEMA_INVALID');
    expect(err.message).toContain('extra: unknown field');
  });

  it('refuses another protocol version before looking at anything else', () => {
    const err = caught(() => parseAgentMessage({ v: 2, type: 'nonsense', body: 5 }, 'agent a1'));
    expect(err.code).toBe('ATP_PROTOCOL_VERSION');
    expect(err.message).toMatch(/agent a1: protocol version 2 .*speaks 1/);
    expect(err.details).toMatchObject({ field: 'v', seen: 2, supported: [1] });
  });

  it('names a missing or non-numeric version as a schema error', () => {
    expect(caught(() => parseAgentMessage({ type: 'ack', body: { bootId: 'b', seq: 1 } })).message).toContain('v: missing');
    expect(caught(() => parseAgentMessage({ v: '1', type: 'ack', body: { bootId: 'b', seq: 1 } })).code).toBe('ATP_SCHEMA_INVALID');
    expect(caught(() => parseAgentMessage([1, 2])).message).toContain('(root): expected object, got array');
  });

  it('names an unknown type', () => {
    const err = caught(() => parseAgentMessage(envelope('bogus', {}), 'agent a1'));
    expect(err.code).toBe('ATP_SCHEMA_INVALID');
    expect(err.message).toContain('agent a1');
    expect(err.message).toContain('unknown message type "bogus"');
  });

  it('names bad fields by path, with every issue in details', () => {
    const err = caught(() => parseAgentMessage(withEvent({ seq: 'four' }, 3), 'agent a1'));
    expect(err.code).toBe('ATP_SCHEMA_INVALID');
    expect(err.message).toContain('agent a1');
    expect(err.message).toContain('body.events[3].seq: expected number, got string');
    expect(err.details['source']).toBe('agent a1');
    expect(err.details['issues']).toEqual([expect.objectContaining({ path: ['body', 'events', 3, 'seq'], pathText: 'body.events[3].seq' })]);

    const cases: [Record<string, unknown>, string][] = [
      [withEvent({ key: 'a' }), 'body.events[0].key'],
      [withEvent({ action: 'press' }), 'body.events[0].action'],
      [withEvent({ kind: 'gesture' }), 'body.events[0].kind'],
      [withEvent({ button: 'thumb' }, 2), 'body.events[2].button'],
      [withEvent({ dx: 1.5 }, 4), 'body.events[4].dx'],
      [withEvent({ seq: 0 }), 'body.events[0].seq'],
      [withEvent({ seq: 1 }, 1), 'body.events[1].seq'],
      [withEvent({ range: { xMin: 10, xMax: 0, yMin: 0, yMax: 1 } }, 5), 'body.events[5].range.xMax'],
      [envelope('hello', { ...bodies.hello, agentId: 'has space' }), 'body.agentId'],
      [envelope('hello', { ...bodies.hello, overflowed: -1 }), 'body.overflowed'],
      [envelope('hello', { ...bodies.hello, token: '' }), 'body.token'],
      [envelope('exec-request', { id: 'x', argv: [] }), 'body.argv'],
      [envelope('exec-request', { id: 'x', argv: ['a'], stdinB64: 'not base64!' }), 'body.stdinB64'],
      [envelope('exec-result', { ...bodies['exec-result'], exitCode: 1.5 }), 'body.exitCode'],
      [envelope('error', { code: 'oops', message: 'm' }), 'body.code'],
      [envelope('welcome', { ...bodies.welcome, heartbeatMs: 0 }), 'body.heartbeatMs'],
      [envelope('pong', { id: 1, t1: 1, t2: 2 }), 'body.t3'],
    ];
    for (const [value, path] of cases) {
      const e = caught(() => parseAgentMessage(value));
      expect(e.code, path).toBe('ATP_SCHEMA_INVALID');
      expect(e.message, path).toContain(`${path}: `);
    }
  });

  it('enforces batch limits of 1..1000 events', () => {
    const ev = (seq: number): ObservedEventInput => ({ kind: 'rel', seq, t: seq, device: 'm', dx: 1, dy: 0 });
    const batch = (n: number): Record<string, unknown> => envelope('events', { bootId: 'b', events: Array.from({ length: n }, (_, i) => ev(i + 1)) });
    expect(parseAgentMessage(batch(MAX_EVENTS_PER_BATCH)).type).toBe('events');
    expect(caught(() => parseAgentMessage(batch(MAX_EVENTS_PER_BATCH + 1))).message).toContain('body.events: ');
    expect(caught(() => parseAgentMessage(batch(0))).message).toContain('body.events: ');
  });

  it('validates before encoding and refuses frames over the limit', () => {
    expect(caught(() => agentMessage('ack', { bootId: '', seq: 1 })).message).toContain('body.bootId');
    const bad = { v: 1, type: 'ack', body: { bootId: 'b', seq: -1 } } as unknown as AgentMessage;
    expect(caught(() => encodeAgentMessage(bad)).code).toBe('ATP_SCHEMA_INVALID');
    expect(caught(() => encodeAgentMessage(agentMessage('events', bodies.events), 100)).code).toBe('ATP_FRAME_TOO_LARGE');
  });

  it('decoder: a bad frame yields one error item and decoding carries on', () => {
    const enc = new TextEncoder();
    const good = encodeAgentMessage(agentMessage('ping', { id: 1, t1: 2 }));
    const stream = new Uint8Array([
      ...enc.encode('{"v":1,"type":"ping","body":{"id":"x","t1":2}}\n'),
      ...enc.encode('not json\n'),
      ...enc.encode('{"v":9,"type":"ping","body":{}}\n'),
      ...good,
    ]);
    const out = decodeAll(stream, [5, 60, 61]);
    expect(out.map((o) => (o.kind === 'error' ? o.error.code : o.message.type))).toEqual([
      'ATP_SCHEMA_INVALID',
      'ATP_FRAME_INVALID_JSON',
      'ATP_PROTOCOL_VERSION',
      'ping',
    ]);
    const first = out[0];
    expect(first?.kind === 'error' && first.error.message).toContain('agent a1');
  });

  it('decoder: an oversized frame is dropped and the next one decodes', () => {
    const d = new AgentMessageDecoder({ maxFrameBytes: 64 });
    const big = encodeAgentMessage(agentMessage('events', bodies.events));
    const small = encodeAgentMessage(agentMessage('capture-stop', {}));
    const out = d.push(new Uint8Array([...big, ...small]));
    expect(out.map((o) => (o.kind === 'error' ? o.error.code : o.message.type))).toEqual(['ATP_FRAME_TOO_LARGE', 'capture-stop']);
    expect(d.buffered).toBe(0);
  });

  it('property: arbitrary valid messages round-trip through encode and randomly split decode', () => {
    fc.assert(
      fc.property(fc.array(agentMessageArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(20_000), { maxLength: 30 }), (inputs, cuts) => {
        const msgs = inputs.map((m) => agentMessage(m.type, m.body as never));
        const frames = msgs.map((m) => encodeAgentMessage(m));
        const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let offset = 0;
        for (const f of frames) {
          stream.set(f, offset);
          offset += f.length;
        }
        const expected = msgs.map((message) => ({ kind: 'message', message: JSON.parse(JSON.stringify(message)) as unknown }));
        expect(decodeAll(stream, cuts)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
