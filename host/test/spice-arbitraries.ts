/**
 * fast-check arbitraries for every SPICE message the codecs know, per
 * channel and direction, for the round-trip and truncation properties of
 * spice-codec.test.ts. `other` messages use types the codec does not interpret.
 */
import fc from 'fast-check';
import type { BaseClientMessage, BaseServerMessage } from '../src/display/spice/codec.js';
import type { DisplayClientMessage, DisplayServerMessage } from '../src/display/spice/display-codec.js';
import type { InputsClientMessage, InputsServerMessage } from '../src/display/spice/inputs-codec.js';
import type { MainClientMessage, MainServerMessage } from '../src/display/spice/main-codec.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const bytes = fc.uint8Array({ maxLength: 24 });

export const spiceBaseServer: fc.Arbitrary<BaseServerMessage> = fc.oneof(
  fc.record({ kind: fc.constant('setAck' as const), generation: u32, window: u32 }),
  fc.record({ kind: fc.constant('ping' as const), id: u32, timestamp: u64, data: bytes }),
  fc.record({ kind: fc.constant('disconnecting' as const), timeStamp: u64, reason: u32 }),
  fc.record({ kind: fc.constant('notify' as const), timeStamp: u64, severity: u32, visibility: u32, what: u32, text: fc.string({ maxLength: 40 }) }),
);

export const spiceBaseClient: fc.Arbitrary<BaseClientMessage> = fc.oneof(
  fc.record({ kind: fc.constant('ackSync' as const), generation: u32 }),
  fc.constant({ kind: 'ack' as const }),
  fc.record({ kind: fc.constant('pong' as const), id: u32, timestamp: u64 }),
  fc.record({ kind: fc.constant('disconnecting' as const), timeStamp: u64, reason: u32 }),
);

const other = (known: readonly number[]): fc.Arbitrary<{ kind: 'other'; type: number; body: Uint8Array }> =>
  fc.record({ kind: fc.constant('other' as const), type: fc.integer({ min: 9, max: 0xffff }).filter((t) => !known.includes(t)), body: bytes });

export const spiceMainServer: fc.Arbitrary<MainServerMessage> = fc.oneof(
  spiceBaseServer,
  fc.record({
    kind: fc.constant('init' as const),
    sessionId: fc.integer({ min: 1, max: 0xffffffff }),
    displayChannelsHint: u32,
    supportedMouseModes: u32,
    currentMouseMode: u32,
    agentConnected: u32,
    agentTokens: u32,
    multiMediaTime: u32,
    ramHint: u32,
  }),
  fc.record({ kind: fc.constant('channelsList' as const), channels: fc.array(fc.record({ type: u8, id: u8 }), { maxLength: 10 }) }),
  fc.record({ kind: fc.constant('mouseMode' as const), supported: u16, current: u16 }),
  other([103, 104, 105]),
);

export const spiceMainClient: fc.Arbitrary<MainClientMessage> = fc.oneof(
  spiceBaseClient,
  fc.constant({ kind: 'attachChannels' as const }),
  fc.record({ kind: fc.constant('mouseModeRequest' as const), mode: u16 }),
);

export const spiceInputsServer: fc.Arbitrary<InputsServerMessage> = fc.oneof(
  spiceBaseServer,
  fc.record({ kind: fc.constant('init' as const), modifiers: u16 }),
  fc.record({ kind: fc.constant('keyModifiers' as const), modifiers: u16 }),
  fc.constant({ kind: 'motionAck' as const }),
  other([101, 102, 111]),
);

export const spiceInputsClient: fc.Arbitrary<InputsClientMessage> = fc.oneof(
  spiceBaseClient,
  fc.record({ kind: fc.constant('keyDown' as const), code: u32 }),
  fc.record({ kind: fc.constant('keyUp' as const), code: u32 }),
  fc.record({ kind: fc.constant('keyModifiers' as const), modifiers: u16 }),
  fc.record({ kind: fc.constant('keyScancode' as const), bytes }),
  fc.record({ kind: fc.constant('mouseMotion' as const), dx: i32, dy: i32, buttons: u16 }),
  fc.record({ kind: fc.constant('mousePosition' as const), x: u32, y: u32, buttons: u16, displayId: u8 }),
  fc.record({ kind: fc.constant('mousePress' as const), button: u8, buttons: u16 }),
  fc.record({ kind: fc.constant('mouseRelease' as const), button: u8, buttons: u16 }),
);

export const spiceDisplayServer: fc.Arbitrary<DisplayServerMessage> = fc.oneof(
  spiceBaseServer,
  fc.record({
    kind: fc.constant('surfaceCreate' as const),
    surfaceId: u32,
    width: fc.integer({ min: 1, max: 0x8000 }),
    height: fc.integer({ min: 1, max: 0x8000 }),
    format: u32,
    flags: u32,
  }),
  fc.record({ kind: fc.constant('surfaceDestroy' as const), surfaceId: u32 }),
  other([314, 315]),
);

export const spiceDisplayClient: fc.Arbitrary<DisplayClientMessage> = fc.oneof(
  spiceBaseClient,
  fc.record({
    kind: fc.constant('init' as const),
    pixmapCacheId: u8,
    pixmapCacheSize: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    glzDictionaryId: u8,
    glzDictionaryWindowSize: i32,
  }),
);
