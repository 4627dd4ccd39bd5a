/**
 * Agent protocol v1: every message between the host and an agent or the web
 * verifier is one envelope `{ "v": 1, "type": "<type>", "body": { ... } }`,
 * newline-delimited JSON on byte streams (framing.ts), one message per frame on
 * WebSocket. Hand-written schemas because the protocol is ours; zod checks both
 * ends.
 *
 * Unknown-field policy (one rule for the whole file):
 * - The envelope is strict: an extra top-level field means a broken sender.
 * - Bodies, events and their nested objects strip unknown fields (zod's default):
 *   they are accepted and dropped, never passed on. Reason: agents live inside
 *   guest images and are upgraded on their own schedule, so a host and an agent
 *   of the same protocol version may differ by an additive optional field; an
 *   older peer must ignore it rather than refuse the whole session. Anything a
 *   peer must understand is a breaking change and bumps `v`. Misspelt required
 *   fields are still caught (as missing).
 *
 * Parsing checks `v` first (another version → ATP_PROTOCOL_VERSION), then
 * `type` (unknown → ATP_SCHEMA_INVALID naming it), then the body.
 */
import { z } from 'zod';
import { AtpError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, NdjsonDecoder, encodeNdjson } from './framing.js';
import { DeviceInfoSchema, ObservedEventSchema } from './agent-events.js';
import { parseWith, schemaError, typeName } from './validate.js';

export * from './agent-events.js';

export const PROTOCOL_VERSION = 1;
/** Largest frame either side sends or accepts, in bytes (newline excluded). */
export const AGENT_MAX_FRAME_BYTES = DEFAULT_MAX_FRAME_BYTES;
/** Most events in one `events` message; a producer also splits batches to stay under the frame limit. */
export const MAX_EVENTS_PER_BATCH = 1000;

const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
/** A VM's SMBIOS system UUID as the hello carries it: canonical 8-4-4-4-12, lowercase hex only (the agent lowercases what it reads). */
export const VM_UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const shortString = z.string().max(256);
const label = z.string().min(1).max(128);
const count = z.number().int().min(0);
const time = z.number();

const errorCode = z.string().regex(/^ATP_[A-Z0-9_]+$/, 'expected an ATP_* error code');

/**
 * Something wrong on the agent's side that is not a reason to refuse the
 * session: a device it could not capture, a part of it that stalled. Carried in
 * the hello (the ones the agent still holds) and, while a session is up, as a
 * non-fatal `error` message with the same fields.
 */
export const AgentProblemSchema = z.object({
  code: errorCode,
  message: z.string().max(1024),
  /** Agent clock (ms) when the problem was first seen. */
  since: time,
  /** Agent clock when it cleared (a stalled part moved again); absent while it lasts. */
  resolvedAt: time.optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
/** What a problem is about: the device or part its details name ('' when none); with the code, what makes two reports the same problem. */
export function problemSubject(details: Readonly<Record<string, unknown>> | undefined): string {
  const subject = details?.['device'] ?? details?.['part'] ?? details?.['path'] ?? '';
  return typeof subject === 'string' ? subject : JSON.stringify(subject);
}

/** Most problems a hello carries (the agent keeps the newest). */
export const MAX_HELLO_PROBLEMS = 32;

export const HelloBodySchema = z.object({
  agentId: label.regex(ID_PATTERN, 'expected letters, digits and . _ : -'),
  /** New for every start of the agent process; seq restarts at 1 with it. */
  bootId: label,
  os: z.object({ platform: shortString, release: shortString, arch: shortString, hostname: shortString.optional() }),
  /** e.g. 'linux-evdev', 'windows-hooks', 'dom'. */
  captureBackends: z.array(z.string().min(1).max(64)).max(32),
  capabilities: z.array(z.string().min(1).max(64)).max(64),
  version: z.string().min(1).max(64),
  token: z.string().min(1).max(4096),
  /** Highest seq this boot has assigned, null before the first event. */
  lastSeq: count.nullable(),
  /** Events still in the resend buffer. */
  unacked: count,
  /** Events dropped from a full resend buffer: a loss reported, never silent. */
  overflowed: count,
  devices: z.array(DeviceInfoSchema).max(256).optional(),
  /** Problems the agent has seen since it started (newest last); absent from agents older than the field. */
  problems: z.array(AgentProblemSchema).max(MAX_HELLO_PROBLEMS).optional(),
  /**
   * The VM's SMBIOS system UUID (what QEMU's -uuid / libvirt's <uuid> set), so a
   * hub can tell clones with one hostname apart and check the agent is in the VM
   * its token or channel is bound to. Absent when the agent cannot read it (not
   * root, not a VM, Windows without the registry value) and from older agents.
   */
  vmUuid: z.string().regex(VM_UUID_PATTERN, 'expected a lowercase 8-4-4-4-12 hex UUID').optional(),
});

export const WelcomeBodySchema = z.object({
  sessionId: label,
  /** The host's cumulative ack for this bootId: the agent resends only what follows. */
  ackedSeq: count.nullable(),
  hostTime: time,
  heartbeatMs: z.number().int().positive(),
});

export const EventsBodySchema = z
  .object({ bootId: label, events: z.array(ObservedEventSchema).min(1).max(MAX_EVENTS_PER_BATCH) })
  .superRefine((body, ctx) => {
    for (let i = 1; i < body.events.length; i++) {
      const prev = body.events[i - 1]?.seq ?? 0;
      const seq = body.events[i]?.seq ?? 0;
      if (seq <= prev) {
        ctx.addIssue({ code: 'custom', path: ['events', i, 'seq'], message: `seq must increase strictly (${seq} after ${prev})` });
      }
    }
  });

/** Cumulative: every seq <= `seq` of this boot has been received. */
export const AckBodySchema = z.object({ bootId: label, seq: count });

/** t1 is the sender's clock in ms. */
export const PingBodySchema = z.object({ id: z.number().int(), t1: time });
/** t1 echoed; t2 = receiver's clock when the ping arrived, t3 = when the pong was sent. */
export const PongBodySchema = z.object({ id: z.number().int(), t1: time, t2: time, t3: time });

export const CaptureStartBodySchema = z.object({
  backends: z.array(z.string().min(1).max(64)).optional(),
  devices: z.array(z.string().max(256)).optional(),
});
export const CaptureStopBodySchema = z.object({});

export const ExecRequestBodySchema = z.object({
  id: label,
  argv: z.array(z.string()).min(1),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  stdinB64: z.base64().optional(),
  timeoutMs: z.number().int().positive().optional(),
  maxOutputBytes: z.number().int().positive().optional(),
});

export const ExecResultBodySchema = z.object({
  id: label,
  exitCode: z.number().int().nullable(),
  signal: z.string().max(64).nullable(),
  stdoutB64: z.base64(),
  stderrB64: z.base64(),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  durationMs: z.number().min(0),
  /** Set when the command did not run to its own end: it never started (spawn failed, exec disabled) or was killed at its timeout (ATP_EXEC_TIMEOUT). */
  error: z.object({ code: z.string().min(1).max(64), message: z.string() }).optional(),
});

export const ErrorBodySchema = z.object({
  code: errorCode,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  /** The sender closes the session after this message. */
  fatal: z.boolean().optional(),
  /** An agent's problem report (non-fatal, AgentProblemSchema): when it was first seen and, if so, when it cleared (agent clock). */
  since: time.optional(),
  resolvedAt: time.optional(),
});

/**
 * Host → observer: what the tester looking at the observer should see (the web
 * verifier's step line and PASS/FAIL banner). Each field present replaces the
 * shown value, null clears it, an absent field leaves it as it is. An agent
 * without a display ignores it.
 */
export const StatusBodySchema = z.object({
  step: z.object({ index: count, total: count, name: z.string().max(256) }).nullable().optional(),
  verdict: z.enum(['running', 'pass', 'fail']).nullable().optional(),
  detail: z.string().max(1024).optional(),
});

function envelope<T extends string, B extends z.ZodType>(type: T, body: B) {
  return z.strictObject({ v: z.literal(PROTOCOL_VERSION), type: z.literal(type), body });
}

const MESSAGE_SCHEMAS = {
  hello: envelope('hello', HelloBodySchema),
  welcome: envelope('welcome', WelcomeBodySchema),
  events: envelope('events', EventsBodySchema),
  ack: envelope('ack', AckBodySchema),
  ping: envelope('ping', PingBodySchema),
  pong: envelope('pong', PongBodySchema),
  'capture-start': envelope('capture-start', CaptureStartBodySchema),
  'capture-stop': envelope('capture-stop', CaptureStopBodySchema),
  'exec-request': envelope('exec-request', ExecRequestBodySchema),
  'exec-result': envelope('exec-result', ExecResultBodySchema),
  error: envelope('error', ErrorBodySchema),
  status: envelope('status', StatusBodySchema),
} as const;

type MessageSchemas = typeof MESSAGE_SCHEMAS;
export type AgentMessageType = keyof MessageSchemas;
export const AGENT_MESSAGE_TYPES = Object.keys(MESSAGE_SCHEMAS) as AgentMessageType[];

export const AgentMessageSchema = z.discriminatedUnion('type', [
  MESSAGE_SCHEMAS.hello,
  MESSAGE_SCHEMAS.welcome,
  MESSAGE_SCHEMAS.events,
  MESSAGE_SCHEMAS.ack,
  MESSAGE_SCHEMAS.ping,
  MESSAGE_SCHEMAS.pong,
  MESSAGE_SCHEMAS['capture-start'],
  MESSAGE_SCHEMAS['capture-stop'],
  MESSAGE_SCHEMAS['exec-request'],
  MESSAGE_SCHEMAS['exec-result'],
  MESSAGE_SCHEMAS.error,
  MESSAGE_SCHEMAS.status,
]);

export type AgentMessage = z.output<typeof AgentMessageSchema>;
export type AgentMessageOf<T extends AgentMessageType> = z.output<MessageSchemas[T]>;
export type AgentMessageBody<T extends AgentMessageType> = AgentMessageOf<T>['body'];
/** A body as a producer writes it: fields with defaults may be left out. */
export type AgentMessageBodyInput<T extends AgentMessageType> = z.input<MessageSchemas[T]>['body'];

export type HelloBody = z.output<typeof HelloBodySchema>;
export type AgentProblem = z.output<typeof AgentProblemSchema>;
export type WelcomeBody = z.output<typeof WelcomeBodySchema>;
export type EventsBody = z.output<typeof EventsBodySchema>;
export type AckBody = z.output<typeof AckBodySchema>;
export type PingBody = z.output<typeof PingBodySchema>;
export type PongBody = z.output<typeof PongBodySchema>;
export type CaptureStartBody = z.output<typeof CaptureStartBodySchema>;
export type CaptureStopBody = z.output<typeof CaptureStopBodySchema>;
export type ExecRequestBody = z.output<typeof ExecRequestBodySchema>;
export type ExecResultBody = z.output<typeof ExecResultBodySchema>;
export type ErrorBody = z.output<typeof ErrorBodySchema>;
export type StatusBody = z.output<typeof StatusBodySchema>;

function isAgentMessageType(value: string): value is AgentMessageType {
  return Object.hasOwn(MESSAGE_SCHEMAS, value);
}

/** Builds a message, validating the body and filling its defaults; throws ATP_SCHEMA_INVALID. */
export function agentMessage<T extends AgentMessageType>(type: T, body: AgentMessageBodyInput<T>): AgentMessageOf<T> {
  const schema: z.ZodType = MESSAGE_SCHEMAS[type];
  return parseWith(schema, { v: PROTOCOL_VERSION, type, body }, { what: `${type} message` }) as AgentMessageOf<T>;
}

/** Validates an untrusted value as an agent message. `source` names the peer in errors. */
export function parseAgentMessage(value: unknown, source?: string): AgentMessage {
  const context = { source, what: 'agent message' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw schemaError([{ path: [], pathText: '(root)', message: `expected object, got ${typeName(value)}`, code: 'invalid_type' }], context);
  }
  const { v, type } = value as { v?: unknown; type?: unknown };
  if (typeof v === 'number' && v !== PROTOCOL_VERSION) {
    const where = source === undefined ? '' : `${source}: `;
    throw new AtpError('ATP_PROTOCOL_VERSION', `${where}protocol version ${v} is not supported (this side speaks ${PROTOCOL_VERSION})`, {
      details: { ...(source === undefined ? {} : { source }), field: 'v', seen: v, supported: [PROTOCOL_VERSION] },
    });
  }
  if (typeof type === 'string' && !isAgentMessageType(type)) {
    const message = `unknown message type ${JSON.stringify(type.slice(0, 64))} (known: ${AGENT_MESSAGE_TYPES.join(', ')})`;
    throw schemaError([{ path: ['type'], pathText: 'type', message, code: 'invalid_value' }], context);
  }
  const schema: z.ZodType = typeof type === 'string' && isAgentMessageType(type) ? MESSAGE_SCHEMAS[type] : AgentMessageSchema;
  return parseWith(schema, value, { ...context, what: typeof type === 'string' ? `${type} message` : 'agent message' }) as AgentMessage;
}

/** One NDJSON frame for `msg`, validated first; throws ATP_SCHEMA_INVALID or ATP_FRAME_TOO_LARGE. */
export function encodeAgentMessage(msg: AgentMessage, maxBytes = AGENT_MAX_FRAME_BYTES): Uint8Array {
  return encodeNdjson(parseWith(AgentMessageSchema, msg, { what: `${msg.type} message` }), maxBytes);
}

export type AgentDecodeItem = { kind: 'message'; message: AgentMessage } | { kind: 'error'; error: AtpError };

export interface AgentMessageDecoderOptions {
  maxFrameBytes?: number;
  /** Names the peer in error messages, e.g. "agent a1". */
  source?: string;
}

/** Decodes agent messages from a byte stream; a bad frame yields an error item and decoding carries on. */
export class AgentMessageDecoder {
  private readonly ndjson: NdjsonDecoder;
  private readonly source: string | undefined;

  constructor(options: AgentMessageDecoderOptions = {}) {
    this.ndjson = new NdjsonDecoder({ maxLineBytes: options.maxFrameBytes ?? AGENT_MAX_FRAME_BYTES });
    this.source = options.source;
  }

  /** Bytes held for an unfinished frame. */
  get buffered(): number {
    return this.ndjson.buffered;
  }

  reset(): void {
    this.ndjson.reset();
  }

  push(chunk: Uint8Array): AgentDecodeItem[] {
    const out: AgentDecodeItem[] = [];
    for (const item of this.ndjson.push(chunk)) {
      if (item.kind === 'error') {
        out.push(item);
        continue;
      }
      try {
        out.push({ kind: 'message', message: parseAgentMessage(item.value, this.source) });
      } catch (error) {
        if (!(error instanceof AtpError)) throw error;
        out.push({ kind: 'error', error });
      }
    }
    return out;
  }
}
