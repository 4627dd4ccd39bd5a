/**
 * Incoming agent messages on the hub's hot path: one JSON.parse per frame, then
 * a hand-written check of the common `events` message, falling back to zod
 * (parseAgentMessage) for everything else. Hand-written because zod costs
 * several µs per event message and the hub sees 20,000 of them per second at
 * 1,000 agents; the check accepts a strict subset of what the zod schema
 * accepts and only when zod would return the value unchanged (no unknown field
 * to strip, no default to fill). Anything outside that subset, valid or not,
 * goes through zod, so a malformed frame gets the same typed error
 * (ATP_SCHEMA_INVALID naming the field, ATP_PROTOCOL_VERSION) as before.
 * hub-codec.test.ts checks the equivalence on generated messages.
 * Pure: no I/O (lint: *-codec.ts).
 */
import { EVENT_KEY_PATTERN, MAX_EVENTS_PER_BATCH, MAX_EVENT_TEXT, PROTOCOL_VERSION, isButtonName, parseAgentMessage, type AgentMessage } from '@atp/protocol';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): boolean => Number.isSafeInteger(v);
const isNum = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown, max: number, min = 0): boolean => typeof v === 'string' && v.length <= max && v.length >= min;
const optional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v);

/** Every own key of `o` is one of `allowed` (an extra key would be stripped by zod: not this path). */
function onlyKeys(o: Json, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

const keys = (...names: string[]): ReadonlySet<string> => new Set(['seq', 't', 'device', 'kind', ...names]);
const KEY_FIELDS = keys('key', 'action', 'native', 'modifiers');
const NATIVE_FIELDS = new Set(['evdev', 'scancode', 'vk', 'domCode', 'domKey', 'location']);
const BUTTON_FIELDS = keys('button', 'action', 'x', 'y');
const REL_FIELDS = keys('dx', 'dy');
const ABS_FIELDS = keys('x', 'y');
const WHEEL_FIELDS = keys('dx', 'dy', 'hiRes');
const HIRES_FIELDS = new Set(['dx', 'dy']);
const SYNC_FIELDS = keys('lost');
const TEXT_FIELDS = keys('text', 'inputType', 'composing');
const COMPOSITION_FIELDS = keys('phase', 'data');
const FOCUS_FIELDS = keys('state');
const BODY_FIELDS = new Set(['bootId', 'events']);

function nativeOk(n: unknown): boolean {
  if (!isObject(n) || !onlyKeys(n, NATIVE_FIELDS)) return false;
  return optional(n['evdev'], isInt) && optional(n['scancode'], isInt) && optional(n['vk'], isInt) && optional(n['location'], isInt)
    && optional(n['domCode'], (v) => isStr(v, 64)) && optional(n['domKey'], (v) => isStr(v, 64));
}

function modifiersOk(m: unknown): boolean {
  if (!Array.isArray(m) || m.length > 32) return false;
  for (const s of m as unknown[]) if (!isStr(s, 32, 1)) return false;
  return true;
}

/** The kind-specific fields of one event, or false when zod must look at it. */
function kindOk(e: Json): boolean {
  switch (e['kind']) {
    case 'key': {
      const a = e['action'];
      return onlyKeys(e, KEY_FIELDS) && typeof e['key'] === 'string' && e['key'].length <= 64 && EVENT_KEY_PATTERN.test(e['key'])
        && (a === 'down' || a === 'up' || a === 'repeat') && optional(e['native'], nativeOk) && optional(e['modifiers'], modifiersOk);
    }
    case 'button': {
      const a = e['action'];
      return onlyKeys(e, BUTTON_FIELDS) && isButtonName(e['button']) && (a === 'down' || a === 'up') && optional(e['x'], isNum) && optional(e['y'], isNum);
    }
    case 'rel':
      return onlyKeys(e, REL_FIELDS) && isInt(e['dx']) && isInt(e['dy']);
    case 'abs':
      return onlyKeys(e, ABS_FIELDS) && isNum(e['x']) && isNum(e['y']);
    case 'wheel': {
      const h = e['hiRes'];
      return onlyKeys(e, WHEEL_FIELDS) && isNum(e['dx']) && isNum(e['dy'])
        && (h === undefined || (isObject(h) && onlyKeys(h, HIRES_FIELDS) && isNum(h['dx']) && isNum(h['dy'])));
    }
    case 'sync-dropped':
      return onlyKeys(e, SYNC_FIELDS) && optional(e['lost'], (v) => isInt(v) && (v as number) >= 0);
    case 'text':
      return onlyKeys(e, TEXT_FIELDS) && isStr(e['text'], MAX_EVENT_TEXT) && optional(e['inputType'], (v) => isStr(v, 64)) && optional(e['composing'], (v) => typeof v === 'boolean');
    case 'composition': {
      const p = e['phase'];
      return onlyKeys(e, COMPOSITION_FIELDS) && (p === 'start' || p === 'update' || p === 'end') && isStr(e['data'], MAX_EVENT_TEXT);
    }
    case 'focus': {
      const s = e['state'];
      return onlyKeys(e, FOCUS_FIELDS) && (s === 'focus' || s === 'blur' || s === 'visible' || s === 'hidden');
    }
    default:
      // 'device' events (nested device info) and anything unknown: zod.
      return false;
  }
}

/** True when `value` is an `events` message zod would accept and return unchanged. */
export function isPlainEventsMessage(value: Json): boolean {
  const body = value['body'];
  if (!isObject(body) || !onlyKeys(body, BODY_FIELDS) || !isStr(body['bootId'], 128, 1)) return false;
  const events = body['events'];
  if (!Array.isArray(events) || events.length === 0 || events.length > MAX_EVENTS_PER_BATCH) return false;
  let previous = 0;
  for (const e of events as unknown[]) {
    if (!isObject(e)) return false;
    const seq = e['seq'];
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || seq <= previous) return false;
    previous = seq;
    if (!isNum(e['t']) || !isStr(e['device'], 256) || !kindOk(e)) return false;
  }
  return true;
}

/** A parsed JSON value as an agent message: the fast path for plain `events` messages, zod for the rest (throws its typed AtpError). */
export function toAgentMessage(value: unknown, source: string): AgentMessage {
  if (isObject(value) && value['type'] === 'events' && value['v'] === PROTOCOL_VERSION) {
    let fields = 0;
    for (const k in value) fields += k === 'v' || k === 'type' || k === 'body' ? 1 : 100;
    if (fields === 3 && isPlainEventsMessage(value)) return value as AgentMessage;
  }
  return parseAgentMessage(value, source);
}

