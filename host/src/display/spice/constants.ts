/**
 * SPICE protocol numbers this client uses, as spice-protocol's protocol.h and
 * enums.h define them (protocol 2.2). Pure data. Written out by hand because
 * the client needs a few dozen of the hundreds of values and no maintained
 * npm package carries them.
 */

/** "REDQ" read as a little-endian u32. */
export const SPICE_MAGIC = 0x51444552;
export const SPICE_VERSION_MAJOR = 2;
export const SPICE_VERSION_MINOR = 2;

/** RSA key length of the ticket key pair (bits) and the DER SubjectPublicKeyInfo length in the link reply. */
export const TICKET_KEY_BITS = 1024;
export const TICKET_PUBKEY_BYTES = TICKET_KEY_BITS / 8 + 34;
export const TICKET_ENCRYPTED_BYTES = TICKET_KEY_BITS / 8;
/** Size of the server's password buffer, NUL included (SPICE_MAX_PASSWORD_LENGTH): 59 bytes of password fit. */
export const MAX_PASSWORD_BYTES = 60;

export const ChannelType = {
  main: 1,
  display: 2,
  inputs: 3,
  cursor: 4,
  playback: 5,
  record: 6,
  tunnel: 7,
  smartcard: 8,
  usbredir: 9,
  port: 10,
  webdav: 11,
} as const;
export type SpiceChannelName = keyof typeof ChannelType;

export function channelName(type: number): string {
  const found = Object.entries(ChannelType).find(([, v]) => v === type);
  return found === undefined ? `channel type ${type}` : found[0];
}

/** Bit numbers of the common capabilities (every channel). */
export const CommonCap = { authSelection: 0, authSpice: 1, authSasl: 2, miniHeader: 3 } as const;

/** SpiceLinkReply.error and the u32 link result after the ticket. */
export const LINK_ERRORS = [
  'OK',
  'ERROR',
  'INVALID_MAGIC',
  'INVALID_DATA',
  'VERSION_MISMATCH',
  'NEED_SECURED',
  'NEED_UNSECURED',
  'PERMISSION_DENIED',
  'BAD_CONNECTION_ID',
  'CHANNEL_NOT_AVAILABLE',
] as const;
export const LinkError = { ok: 0, permissionDenied: 7 } as const;

export function linkErrorName(code: number): string {
  return LINK_ERRORS[code] ?? `unknown link error ${code}`;
}

/** Messages every channel's server side may send (SPICE_MSG_*). */
export const BaseMsg = { migrate: 1, migrateData: 2, setAck: 3, ping: 4, waitForChannels: 5, disconnecting: 6, notify: 7, list: 8 } as const;
/** Messages every channel's client side may send (SPICE_MSGC_*). */
export const BaseMsgc = { ackSync: 1, ack: 2, pong: 3, migrateFlushMark: 4, migrateData: 5, disconnecting: 6 } as const;

export const MainMsg = {
  migrateBegin: 101,
  migrateCancel: 102,
  init: 103,
  channelsList: 104,
  mouseMode: 105,
  multiMediaTime: 106,
  agentConnected: 107,
  agentDisconnected: 108,
  agentData: 109,
  agentToken: 110,
  migrateSwitchHost: 111,
  migrateEnd: 112,
  name: 113,
  uuid: 114,
  agentConnectedTokens: 115,
} as const;
export const MainMsgc = { clientInfo: 101, attachChannels: 104, mouseModeRequest: 105 } as const;

export const InputsMsg = { init: 101, keyModifiers: 102, mouseMotionAck: 111 } as const;
export const InputsMsgc = {
  keyDown: 101,
  keyUp: 102,
  keyModifiers: 103,
  keyScancode: 104,
  mouseMotion: 111,
  mousePosition: 112,
  mousePress: 113,
  mouseRelease: 114,
} as const;

export const DisplayMsg = { surfaceCreate: 314, surfaceDestroy: 315 } as const;
export const DisplayMsgc = { init: 101 } as const;
/** SpiceMsgSurfaceCreate.flags bit of the primary surface. */
export const SURFACE_FLAG_PRIMARY = 1;

/** The server acks every this many MOUSE_MOTION / MOUSE_POSITION messages (SPICE_INPUT_MOTION_ACK_BUNCH). */
export const MOTION_ACK_BUNCH = 4;

export const MouseMode = { server: 1, client: 2 } as const;
export type SpiceMouseMode = keyof typeof MouseMode;

export function mouseModeNames(flags: number): SpiceMouseMode[] {
  return (Object.keys(MouseMode) as SpiceMouseMode[]).filter((name) => (flags & MouseMode[name]) !== 0);
}

/** SpiceMouseButton (the `button` field of MOUSE_PRESS / MOUSE_RELEASE). */
export const MouseButton = { left: 1, middle: 2, right: 3, up: 4, down: 5, side: 6, extra: 7 } as const;
export type SpiceMouseButton = keyof typeof MouseButton;
/** SpiceMouseButtonMask (the `buttons_state` field). */
export const ButtonMask = { left: 1, middle: 2, right: 4, up: 8, down: 16, side: 32, extra: 64 } as const;
export const BUTTON_MASK_ALL = 0x7f;

/** SpiceKeyboardModifierFlags: the lock keys' state (not shift/ctrl). */
export const KeyboardModifier = { scrollLock: 1, numLock: 2, capsLock: 4 } as const;
export const KEYBOARD_MODIFIERS_ALL = 0x7;
