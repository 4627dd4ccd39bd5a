/**
 * The SPICE link stage, before any channel message: the client's link
 * message (SpiceLinkHeader "REDQ" 2.2 + SpiceLinkMess + capability words), the
 * server's link reply (error, the RSA ticket key as DER SubjectPublicKeyInfo,
 * its capabilities), the auth mechanism the client picks, and the u32 link
 * result after the encrypted ticket. Both directions encode and decode, so the
 * tests can round-trip every message and play a hostile server. Pure.
 *
 * Wire facts (spice-protocol protocol.h, spice-server reds.cpp):
 * - header: magic u32 "REDQ", major u32 = 2, minor u32 = 2, size u32 (bytes after the header)
 * - SpiceLinkMess: connection_id u32, channel_type u8, channel_id u8,
 *   num_common_caps u32, num_channel_caps u32, caps_offset u32 (from the start
 *   of SpiceLinkMess), then common and channel capability words
 * - SpiceLinkReply: error u32, pub_key[162], num_common_caps u32,
 *   num_channel_caps u32, caps_offset u32, capability words. A refusal is the
 *   same struct with a non-zero error and a zeroed key.
 */
import { ByteReader, ByteWriter, decodeWith, protocolError, type Decoded } from './bytes.js';
import { SPICE_MAGIC, SPICE_VERSION_MAJOR, SPICE_VERSION_MINOR, TICKET_PUBKEY_BYTES } from './constants.js';

export const LINK_HEADER_BYTES = 16;
const LINK_MESS_BYTES = 18;
const LINK_REPLY_FIXED_BYTES = 4 + TICKET_PUBKEY_BYTES + 12;
/** The server refuses link messages above 4096 bytes; replies are as small. */
export const MAX_LINK_BODY_BYTES = 4096;
const MAX_CAPS = 1024;

export interface LinkHeader {
  major: number;
  minor: number;
  /** Bytes of the link message or reply that follow the header. */
  size: number;
}

export interface LinkMess {
  /** 0 for a main channel (new session); the session id from MAIN INIT for every other channel. */
  connectionId: number;
  channelType: number;
  channelId: number;
  /** Capability words (bit n of word n/32 = capability n). */
  commonCaps: readonly number[];
  channelCaps: readonly number[];
}

export interface LinkReply {
  /** SPICE_LINK_ERR_*: 0 = OK. */
  error: number;
  /** The ticket key, DER SubjectPublicKeyInfo (RSA 1024), as sent (162 bytes, zeros when refused). */
  publicKey: Uint8Array;
  commonCaps: readonly number[];
  channelCaps: readonly number[];
}

/** Capability bit numbers → u32 words. */
export function capsWords(bits: readonly number[]): number[] {
  const words: number[] = [];
  for (const bit of bits) {
    const word = bit >>> 5;
    while (words.length <= word) words.push(0);
    words[word] = ((words[word] ?? 0) | (1 << (bit & 31))) >>> 0;
  }
  return words;
}

export function hasCap(words: readonly number[], bit: number): boolean {
  return (((words[bit >>> 5] ?? 0) >>> (bit & 31)) & 1) === 1;
}

function writeHeader(w: ByteWriter, size: number): void {
  w.u32(SPICE_MAGIC, 'magic').u32(SPICE_VERSION_MAJOR, 'major_version').u32(SPICE_VERSION_MINOR, 'minor_version').u32(size, 'size');
}

function writeCaps(w: ByteWriter, caps: readonly number[], field: string): void {
  caps.forEach((word, i) => w.u32(word, `${field}[${i}]`));
}

/** Reads a link header; rejects a wrong magic, a major version other than 2, and sizes outside 4..4096. */
export function decodeLinkHeader(bytes: Uint8Array): Decoded<LinkHeader> {
  return decodeWith(() => {
    const r = new ByteReader(bytes, 'link header');
    const magic = r.u32('magic');
    if (magic !== SPICE_MAGIC) {
      throw protocolError(`not a SPICE server: the link header starts with 0x${magic.toString(16).padStart(8, '0')}, not "REDQ"`, { field: 'magic', value: magic });
    }
    const major = r.u32('major_version');
    const minor = r.u32('minor_version');
    const size = r.u32('size');
    if (major !== SPICE_VERSION_MAJOR) {
      throw protocolError(`the SPICE server speaks protocol ${major}.${minor}; this client speaks ${SPICE_VERSION_MAJOR}.x`, { field: 'major_version', value: major });
    }
    if (size < 4 || size > MAX_LINK_BODY_BYTES) {
      throw protocolError(`SPICE link header size ${size} is outside 4..${MAX_LINK_BODY_BYTES}`, { field: 'size', value: size });
    }
    return { major, minor, size };
  });
}

/** Reads the capability words at `offset` (from the start of the body) with bounds checks. */
function readCaps(r: ByteReader, offset: number, common: number, channel: number, fixed: number): { commonCaps: number[]; channelCaps: number[] } {
  if (common > MAX_CAPS || channel > MAX_CAPS) throw protocolError(`SPICE ${r.what} announces ${common} + ${channel} capability words (limit ${MAX_CAPS})`, { field: 'num_caps' });
  if (common + channel === 0) return { commonCaps: [], channelCaps: [] };
  if (offset < fixed) throw protocolError(`SPICE ${r.what} caps_offset ${offset} points into its fixed part (${fixed} bytes)`, { field: 'caps_offset', value: offset });
  r.seek(offset, 'caps_offset');
  const commonCaps = Array.from({ length: common }, (_, i) => r.u32(`common_caps[${i}]`));
  const channelCaps = Array.from({ length: channel }, (_, i) => r.u32(`channel_caps[${i}]`));
  return { commonCaps, channelCaps };
}

export function encodeLinkMess(mess: LinkMess): Uint8Array {
  const size = LINK_MESS_BYTES + 4 * (mess.commonCaps.length + mess.channelCaps.length);
  const w = new ByteWriter();
  writeHeader(w, size);
  w.u32(mess.connectionId, 'connection_id').u8(mess.channelType, 'channel_type').u8(mess.channelId, 'channel_id');
  w.u32(mess.commonCaps.length, 'num_common_caps').u32(mess.channelCaps.length, 'num_channel_caps').u32(LINK_MESS_BYTES, 'caps_offset');
  writeCaps(w, mess.commonCaps, 'common_caps');
  writeCaps(w, mess.channelCaps, 'channel_caps');
  return w.finish();
}

/** Decodes a SpiceLinkMess body (without the header): what a server reads. */
export function decodeLinkMess(body: Uint8Array): Decoded<LinkMess> {
  return decodeWith(() => {
    const r = new ByteReader(body, 'link message');
    const connectionId = r.u32('connection_id');
    const channelType = r.u8('channel_type');
    const channelId = r.u8('channel_id');
    const common = r.u32('num_common_caps');
    const channel = r.u32('num_channel_caps');
    const offset = r.u32('caps_offset');
    return { connectionId, channelType, channelId, ...readCaps(r, offset, common, channel, LINK_MESS_BYTES) };
  });
}

export function encodeLinkReply(reply: LinkReply): Uint8Array {
  if (reply.publicKey.byteLength !== TICKET_PUBKEY_BYTES) {
    throw protocolError(`a link reply key must be ${TICKET_PUBKEY_BYTES} bytes, got ${reply.publicKey.byteLength}`, { field: 'pub_key' });
  }
  const size = LINK_REPLY_FIXED_BYTES + 4 * (reply.commonCaps.length + reply.channelCaps.length);
  const w = new ByteWriter();
  writeHeader(w, size);
  w.u32(reply.error, 'error').bytes(reply.publicKey);
  w.u32(reply.commonCaps.length, 'num_common_caps').u32(reply.channelCaps.length, 'num_channel_caps').u32(LINK_REPLY_FIXED_BYTES, 'caps_offset');
  writeCaps(w, reply.commonCaps, 'common_caps');
  writeCaps(w, reply.channelCaps, 'channel_caps');
  return w.finish();
}

/**
 * Decodes a link reply body (after the header). A refusal may be cut short
 * after its error field (some servers send just the error): then the key is
 * empty and there are no capabilities; an accepted reply must be complete.
 */
export function decodeLinkReply(body: Uint8Array): Decoded<LinkReply> {
  return decodeWith(() => {
    const r = new ByteReader(body, 'link reply');
    const error = r.u32('error');
    if (error !== 0 && r.remaining < TICKET_PUBKEY_BYTES + 12) return { error, publicKey: new Uint8Array(0), commonCaps: [], channelCaps: [] };
    const publicKey = r.bytesOf(TICKET_PUBKEY_BYTES, 'pub_key');
    const common = r.u32('num_common_caps');
    const channel = r.u32('num_channel_caps');
    const offset = r.u32('caps_offset');
    return { error, publicKey, ...readCaps(r, offset, common, channel, LINK_REPLY_FIXED_BYTES) };
  });
}

/** SpiceLinkAuthMechanism: the auth capability bit the client picks (1 = SPICE ticket). */
export function encodeAuthMechanism(mechanism: number): Uint8Array {
  return new ByteWriter().u32(mechanism, 'auth_mechanism').finish();
}

export function decodeAuthMechanism(bytes: Uint8Array): Decoded<number> {
  return decodeWith(() => {
    const r = new ByteReader(bytes, 'auth mechanism');
    const value = r.u32('auth_mechanism');
    r.end();
    return value;
  });
}

/** The u32 the server sends after checking the ticket (SPICE_LINK_ERR_*). */
export function encodeLinkResult(code: number): Uint8Array {
  return new ByteWriter().u32(code, 'link result').finish();
}

export function decodeLinkResult(bytes: Uint8Array): Decoded<number> {
  return decodeWith(() => {
    const r = new ByteReader(bytes, 'link result');
    const value = r.u32('link result');
    r.end();
    return value;
  });
}
