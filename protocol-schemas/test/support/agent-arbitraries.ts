/** fast-check generators of valid agent-protocol messages (as producers write them). */
import fc from 'fast-check';
import { DEVICE_KINDS, NAMED_BUTTONS } from '../../src/agent-events.js';
import type { ButtonName } from '../../src/agent-events.js';
import type { AgentMessageBodyInput, AgentMessageType, ObservedEventInput } from '../../src/agent-protocol.js';

const num = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 });
const int = fc.integer({ min: -1_000_000, max: 1_000_000 });
const count = fc.nat(1_000_000);
const label = fc.string({ minLength: 1, maxLength: 40 });
const agentId = fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/);
const keyId = fc.stringMatching(/^(KEY|BTN)_[A-Z0-9_]{1,12}$/);
const b64 = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u).toString('base64'));
const range = fc
  .tuple(num, num, num, num)
  .map(([a, b, c, d]) => ({ xMin: Math.min(a, b), xMax: Math.max(a, b), yMin: Math.min(c, d), yMax: Math.max(c, d) }));
const deviceInfo = fc.record(
  { id: label, name: fc.string({ maxLength: 40 }), kind: fc.constantFrom(...DEVICE_KINDS), bus: fc.string(), phys: fc.string(), absRange: range },
  { requiredKeys: ['id', 'name', 'kind'] },
);
const button: fc.Arbitrary<ButtonName> = fc.oneof(
  fc.constantFrom(...NAMED_BUTTONS),
  fc.stringMatching(/^BTN_[A-Z0-9_]{1,10}$/).map((s) => s as `BTN_${string}`),
);

type EventPayload = ObservedEventInput extends infer E ? (E extends unknown ? Omit<E, 'seq' | 't' | 'device'> : never) : never;

const payload: fc.Arbitrary<EventPayload> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('key' as const),
      key: keyId,
      action: fc.constantFrom('down' as const, 'up' as const, 'repeat' as const),
      native: fc.record(
        { evdev: int, scancode: int, vk: int, domCode: fc.string({ maxLength: 20 }), domKey: fc.string({ maxLength: 20 }), location: int },
        { requiredKeys: [] },
      ),
      modifiers: fc.array(fc.constantFrom('shift', 'ctrl', 'alt', 'meta', 'altgr', 'capslock', 'numlock'), { maxLength: 4 }),
    },
    { requiredKeys: ['kind', 'key', 'action'] },
  ),
  fc.record(
    { kind: fc.constant('button' as const), button, action: fc.constantFrom('down' as const, 'up' as const), x: num, y: num },
    { requiredKeys: ['kind', 'button', 'action'] },
  ),
  fc.record({ kind: fc.constant('rel' as const), dx: int, dy: int }),
  fc.record({ kind: fc.constant('abs' as const), x: num, y: num, range }, { requiredKeys: ['kind', 'x', 'y'] }),
  fc.record(
    { kind: fc.constant('wheel' as const), dx: num, dy: num, hiRes: fc.record({ dx: num, dy: num }) },
    { requiredKeys: ['kind', 'dy'] },
  ),
  fc.record({ kind: fc.constant('sync-dropped' as const), lost: count }, { requiredKeys: ['kind'] }),
  fc.record(
    { kind: fc.constant('text' as const), text: fc.string({ maxLength: 30, unit: 'grapheme' }), inputType: fc.string({ maxLength: 20 }), composing: fc.boolean() },
    { requiredKeys: ['kind', 'text'] },
  ),
  fc.record({ kind: fc.constant('composition' as const), phase: fc.constantFrom('start' as const, 'update' as const, 'end' as const), data: fc.string() }),
  fc.record({ kind: fc.constant('focus' as const), state: fc.constantFrom('focus' as const, 'blur' as const, 'visible' as const, 'hidden' as const) }),
  fc.record({ kind: fc.constant('device' as const), change: fc.constantFrom('added' as const, 'removed' as const), info: deviceInfo }),
);

const eventBatch: fc.Arbitrary<ObservedEventInput[]> = fc
  .tuple(fc.nat(1000), fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), num, fc.string({ maxLength: 10 }), payload), { minLength: 1, maxLength: 30 }))
  .map(([start, items]) => {
    let seq = start;
    return items.map(([step, t, device, p]) => {
      seq += step;
      return { ...p, seq, t, device } as ObservedEventInput;
    });
  });

type AnyMessage = { [T in AgentMessageType]: { type: T; body: AgentMessageBodyInput<T> } }[AgentMessageType];
const msg = <T extends AgentMessageType>(type: T, body: fc.Arbitrary<AgentMessageBodyInput<T>>): fc.Arbitrary<AnyMessage> =>
  body.map((b) => ({ type, body: b }) as AnyMessage);

export const agentMessageArb: fc.Arbitrary<AnyMessage> = fc.oneof(
  msg(
    'hello',
    fc.record(
      {
        agentId,
        bootId: label,
        os: fc.record({ platform: fc.string(), release: fc.string(), arch: fc.string(), hostname: fc.string() }, { requiredKeys: ['platform', 'release', 'arch'] }),
        captureBackends: fc.array(fc.constantFrom('linux-evdev', 'windows-hooks', 'dom'), { maxLength: 3 }),
        capabilities: fc.array(label, { maxLength: 5 }),
        version: label,
        token: fc.string({ minLength: 1, maxLength: 200 }),
        lastSeq: fc.option(count, { nil: null }),
        unacked: count,
        overflowed: count,
        devices: fc.array(deviceInfo, { maxLength: 3 }),
      },
      { requiredKeys: ['agentId', 'bootId', 'os', 'captureBackends', 'capabilities', 'version', 'token', 'lastSeq', 'unacked', 'overflowed'] },
    ),
  ),
  msg('welcome', fc.record({ sessionId: label, ackedSeq: fc.option(count, { nil: null }), hostTime: num, heartbeatMs: fc.integer({ min: 1, max: 60_000 }) })),
  msg('events', fc.record({ bootId: label, events: eventBatch })),
  msg('ack', fc.record({ bootId: label, seq: count })),
  msg('ping', fc.record({ id: int, t1: num })),
  msg('pong', fc.record({ id: int, t1: num, t2: num, t3: num })),
  msg('capture-start', fc.record({ backends: fc.array(label, { maxLength: 3 }), devices: fc.array(fc.string(), { maxLength: 3 }) }, { requiredKeys: [] })),
  msg('capture-stop', fc.constant({})),
  msg(
    'exec-request',
    fc.record(
      {
        id: label,
        argv: fc.array(fc.string(), { minLength: 1, maxLength: 5 }),
        cwd: fc.string(),
        env: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string(), { maxKeys: 4 }),
        stdinB64: b64,
        timeoutMs: fc.integer({ min: 1, max: 1e9 }),
        maxOutputBytes: fc.integer({ min: 1, max: 1e9 }),
      },
      { requiredKeys: ['id', 'argv'] },
    ),
  ),
  msg(
    'exec-result',
    fc.record(
      {
        id: label,
        exitCode: fc.option(int, { nil: null }),
        signal: fc.option(fc.constantFrom('SIGKILL', 'SIGTERM'), { nil: null }),
        stdoutB64: b64,
        stderrB64: b64,
        stdoutTruncated: fc.boolean(),
        stderrTruncated: fc.boolean(),
        durationMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
        error: fc.record({ code: label, message: fc.string() }),
      },
      { requiredKeys: ['id', 'exitCode', 'signal', 'stdoutB64', 'stderrB64', 'stdoutTruncated', 'stderrTruncated', 'durationMs'] },
    ),
  ),
  msg(
    'error',
    fc.record(
      {
        code: fc.stringMatching(/^ATP_[A-Z0-9_]{1,20}$/),
        message: fc.string(),
        details: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        fatal: fc.boolean(),
      },
      { requiredKeys: ['code', 'message'] },
    ),
  ),
);
