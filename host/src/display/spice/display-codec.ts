/**
 * The two SPICE display channel messages this client uses, both directions.
 * Pure. The client opens the display channel only to learn the primary
 * surface's size: spice-server sets the tablet's logical size (what QEMU scales
 * client-mode positions by) to the primary surface, so client mouse mode needs
 * it. Drawing messages are framed and dropped unread.
 *
 * Client: INIT {pixmap_cache_id u8, pixmap_cache_size i64, glz_dictionary_id u8,
 * glz_dictionary_window_size i32} (the server waits for it before it sends the
 * surface). Server: SURFACE_CREATE {surface_id u32, width u32, height u32,
 * format u32, flags u32 (bit 0 = primary)}, SURFACE_DESTROY {surface_id u32}.
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
import { DisplayMsg, DisplayMsgc } from './constants.js';

export interface SurfaceCreate {
  kind: 'surfaceCreate';
  surfaceId: number;
  width: number;
  height: number;
  format: number;
  flags: number;
}

export type DisplayServerMessage = BaseServerMessage | SurfaceCreate | { kind: 'surfaceDestroy'; surfaceId: number } | OtherMessage;

export interface DisplayInit {
  kind: 'init';
  pixmapCacheId: number;
  pixmapCacheSize: bigint;
  glzDictionaryId: number;
  glzDictionaryWindowSize: number;
}

export type DisplayClientMessage = BaseClientMessage | DisplayInit;

export function encodeDisplayServerMessage(m: DisplayServerMessage): SpiceFrame {
  const w = new ByteWriter();
  switch (m.kind) {
    case 'surfaceCreate':
      w.u32(m.surfaceId, 'surface_id').u32(m.width, 'width').u32(m.height, 'height').u32(m.format, 'format').u32(m.flags, 'flags');
      return { type: DisplayMsg.surfaceCreate, body: w.finish() };
    case 'surfaceDestroy':
      return { type: DisplayMsg.surfaceDestroy, body: w.u32(m.surfaceId, 'surface_id').finish() };
    case 'other':
      return { type: m.type, body: m.body };
    default:
      return encodeBaseServerMessage(m);
  }
}

export function decodeDisplayServerMessage(type: number, body: Uint8Array): Decoded<DisplayServerMessage> {
  const base = decodeBaseServerMessage(type, body);
  if (base !== undefined) return base;
  switch (type) {
    case DisplayMsg.surfaceCreate:
      return decodeWith(() => {
        const r = new ByteReader(body, 'display SURFACE_CREATE');
        const m: SurfaceCreate = { kind: 'surfaceCreate', surfaceId: r.u32('surface_id'), width: r.u32('width'), height: r.u32('height'), format: r.u32('format'), flags: r.u32('flags') };
        if (m.width === 0 || m.height === 0 || m.width > 0x8000 || m.height > 0x8000) {
          throw protocolError(`SPICE display SURFACE_CREATE has an impossible size ${m.width}x${m.height}`, { field: 'width/height', width: m.width, height: m.height });
        }
        return m;
      });
    case DisplayMsg.surfaceDestroy:
      return decodeWith(() => ({ kind: 'surfaceDestroy', surfaceId: new ByteReader(body, 'display SURFACE_DESTROY').u32('surface_id') }));
    default:
      return { ok: true, value: { kind: 'other', type, body } };
  }
}

export function encodeDisplayClientMessage(m: DisplayClientMessage): SpiceFrame {
  if (m.kind !== 'init') return encodeBaseClientMessage(m);
  const w = new ByteWriter().u8(m.pixmapCacheId, 'pixmap_cache_id').i64(m.pixmapCacheSize, 'pixmap_cache_size');
  w.u8(m.glzDictionaryId, 'glz_dictionary_id').i32(m.glzDictionaryWindowSize, 'glz_dictionary_window_size');
  return { type: DisplayMsgc.init, body: w.finish() };
}

export function decodeDisplayClientMessage(type: number, body: Uint8Array): Decoded<DisplayClientMessage> {
  const base = decodeBaseClientMessage(type, body);
  if (base !== undefined) return base;
  if (type !== DisplayMsgc.init) return { ok: false, error: protocolError(`unknown SPICE display client message type ${type}`, { type }) };
  return decodeFixed(body, 'display INIT', (r) => ({
    kind: 'init',
    pixmapCacheId: r.u8('pixmap_cache_id'),
    pixmapCacheSize: r.i64('pixmap_cache_size'),
    glzDictionaryId: r.u8('glz_dictionary_id'),
    glzDictionaryWindowSize: r.i32('glz_dictionary_window_size'),
  }));
}
