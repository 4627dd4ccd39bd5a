/**
 * The SPICE main channel messages this client uses (spice.proto MainChannel),
 * both directions, plus the base messages. Pure.
 *
 * Server: INIT {session_id, display_channels_hint, supported_mouse_modes,
 * current_mouse_mode, agent_connected, agent_tokens, multi_media_time,
 * ram_hint: u32 each}; CHANNELS_LIST {num_of_channels u32, {type u8, id u8}[]};
 * MOUSE_MODE {supported_modes u16, current_mode u16}.
 * Client: ATTACH_CHANNELS {} and MOUSE_MODE_REQUEST {mode u16}.
 * Everything else (agent, migration, name/uuid, multimedia time) decodes as
 * `other` and is ignored by the client.
 */
import { ByteReader, ByteWriter, decodeWith, protocolError, type Decoded } from './bytes.js';
import {
  decodeBaseClientMessage,
  decodeBaseServerMessage,
  decodeFixed,
  encodeBaseClientMessage,
  encodeBaseServerMessage,
  type BaseClientMessage,
  type BaseServerMessage,
  type OtherMessage,
  type SpiceFrame,
} from './codec.js';
import { MainMsg, MainMsgc } from './constants.js';

export interface MainInit {
  kind: 'init';
  sessionId: number;
  displayChannelsHint: number;
  supportedMouseModes: number;
  currentMouseMode: number;
  agentConnected: number;
  agentTokens: number;
  multiMediaTime: number;
  ramHint: number;
}

export interface ChannelId {
  type: number;
  id: number;
}

export type MainServerMessage =
  | BaseServerMessage
  | MainInit
  | { kind: 'channelsList'; channels: ChannelId[] }
  | { kind: 'mouseMode'; supported: number; current: number }
  | OtherMessage;

export type MainClientMessage = BaseClientMessage | { kind: 'attachChannels' } | { kind: 'mouseModeRequest'; mode: number };

const INIT_FIELDS = ['sessionId', 'displayChannelsHint', 'supportedMouseModes', 'currentMouseMode', 'agentConnected', 'agentTokens', 'multiMediaTime', 'ramHint'] as const;

export function encodeMainServerMessage(m: MainServerMessage): SpiceFrame {
  const w = new ByteWriter();
  switch (m.kind) {
    case 'init':
      for (const field of INIT_FIELDS) w.u32(m[field], field);
      return { type: MainMsg.init, body: w.finish() };
    case 'channelsList':
      w.u32(m.channels.length, 'num_of_channels');
      m.channels.forEach((c, i) => w.u8(c.type, `channels[${i}].type`).u8(c.id, `channels[${i}].id`));
      return { type: MainMsg.channelsList, body: w.finish() };
    case 'mouseMode':
      return { type: MainMsg.mouseMode, body: w.u16(m.supported, 'supported_modes').u16(m.current, 'current_mode').finish() };
    case 'other':
      return { type: m.type, body: m.body };
    default:
      return encodeBaseServerMessage(m);
  }
}

export function decodeMainServerMessage(type: number, body: Uint8Array): Decoded<MainServerMessage> {
  const base = decodeBaseServerMessage(type, body);
  if (base !== undefined) return base;
  switch (type) {
    case MainMsg.init:
      return decodeWith(() => {
        const r = new ByteReader(body, 'main INIT');
        const init = { kind: 'init' } as MainInit;
        for (const field of INIT_FIELDS) init[field] = r.u32(field);
        if (init.sessionId === 0) throw protocolError('SPICE main INIT carries session id 0, which no channel can link with', { field: 'session_id' });
        return init;
      });
    case MainMsg.channelsList:
      return decodeWith(() => {
        const r = new ByteReader(body, 'main CHANNELS_LIST');
        const count = r.u32('num_of_channels');
        if (count * 2 > r.remaining) throw protocolError(`SPICE main CHANNELS_LIST announces ${count} channels in ${r.remaining} bytes`, { field: 'num_of_channels', value: count });
        const channels = Array.from({ length: count }, (_, i) => ({ type: r.u8(`channels[${i}].type`), id: r.u8(`channels[${i}].id`) }));
        return { kind: 'channelsList', channels };
      });
    case MainMsg.mouseMode:
      return decodeWith(() => {
        const r = new ByteReader(body, 'main MOUSE_MODE');
        return { kind: 'mouseMode', supported: r.u16('supported_modes'), current: r.u16('current_mode') };
      });
    default:
      return { ok: true, value: { kind: 'other', type, body } };
  }
}

export function encodeMainClientMessage(m: MainClientMessage): SpiceFrame {
  switch (m.kind) {
    case 'attachChannels':
      return { type: MainMsgc.attachChannels, body: new Uint8Array(0) };
    case 'mouseModeRequest':
      return { type: MainMsgc.mouseModeRequest, body: new ByteWriter().u16(m.mode, 'mode').finish() };
    default:
      return encodeBaseClientMessage(m);
  }
}

/** What a server reads from the main channel; unknown client types are an error. */
export function decodeMainClientMessage(type: number, body: Uint8Array): Decoded<MainClientMessage> {
  const base = decodeBaseClientMessage(type, body);
  if (base !== undefined) return base;
  switch (type) {
    case MainMsgc.attachChannels:
      return decodeFixed(body, 'main ATTACH_CHANNELS', () => ({ kind: 'attachChannels' }));
    case MainMsgc.mouseModeRequest:
      return decodeFixed(body, 'main MOUSE_MODE_REQUEST', (r) => ({ kind: 'mouseModeRequest', mode: r.u16('mode') }));
    default:
      return { ok: false, error: protocolError(`unknown SPICE main client message type ${type}`, { type }) };
  }
}
