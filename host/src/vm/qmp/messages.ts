/**
 * The shapes QEMU sends over QMP (greeting, return, error, event), as zod
 * schemas, and the classification of one decoded JSON value into one of them.
 * Hand-written because QMP has no machine-readable schema for its envelope
 * (query-qmp-schema describes commands, not the framing messages). Pure.
 */
import { z } from 'zod';
import { AtpError } from '@atp/protocol';

/** A command id as QEMU echoes it back, which may be any JSON value; ours are numbers. */
const idSchema = z.union([z.number(), z.string()]).optional();

export const qmpVersionSchema = z.object({
  qemu: z.object({ major: z.number().int(), minor: z.number().int(), micro: z.number().int() }),
  package: z.string(),
});
export type QmpVersion = z.infer<typeof qmpVersionSchema>;

export const qmpGreetingSchema = z.object({
  QMP: z.object({ version: qmpVersionSchema, capabilities: z.array(z.string()) }),
});

export const qmpReturnSchema = z.object({ return: z.unknown(), id: idSchema });

export const qmpErrorReplySchema = z.object({
  error: z.object({ class: z.string(), desc: z.string() }),
  id: idSchema,
});

export const qmpEventSchema = z.object({
  event: z.string().min(1),
  data: z.record(z.string(), z.unknown()).optional(),
  timestamp: z.object({ seconds: z.number().int(), microseconds: z.number().int() }),
});

export interface QmpGreeting {
  kind: 'greeting';
  version: QmpVersion;
  capabilities: string[];
}
export interface QmpReturn {
  kind: 'return';
  value: unknown;
  id: number | string | undefined;
}
export interface QmpErrorReply {
  kind: 'error';
  errorClass: string;
  desc: string;
  id: number | string | undefined;
}
export interface QmpEvent {
  kind: 'event';
  event: string;
  data: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}
export type QmpMessage = QmpGreeting | QmpReturn | QmpErrorReply | QmpEvent;

export type QmpClassified = { kind: 'message'; message: QmpMessage } | { kind: 'error'; error: AtpError };

function protocolError(reason: string, value: unknown, issues?: string): AtpError {
  const preview = previewOf(value);
  return new AtpError('ATP_QMP_PROTOCOL', `QEMU sent ${reason}${issues ? ` (${issues})` : ''}: ${preview}`, {
    details: { reason, preview, ...(issues ? { issues } : {}) },
  });
}

function previewOf(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

function issuesOf(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Classifies one decoded JSON value; anything not QMP becomes ATP_QMP_PROTOCOL. */
export function classifyQmpValue(value: unknown): QmpClassified {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'error', error: protocolError('a value that is not a JSON object', value) };
  }
  if ('QMP' in value) {
    const r = qmpGreetingSchema.safeParse(value);
    if (!r.success) return { kind: 'error', error: protocolError('a malformed greeting', value, issuesOf(r.error)) };
    return { kind: 'message', message: { kind: 'greeting', version: r.data.QMP.version, capabilities: r.data.QMP.capabilities } };
  }
  if ('return' in value) {
    const r = qmpReturnSchema.safeParse(value);
    if (!r.success) return { kind: 'error', error: protocolError('a malformed return', value, issuesOf(r.error)) };
    return { kind: 'message', message: { kind: 'return', value: r.data.return, id: r.data.id } };
  }
  if ('error' in value) {
    const r = qmpErrorReplySchema.safeParse(value);
    if (!r.success) return { kind: 'error', error: protocolError('a malformed error reply', value, issuesOf(r.error)) };
    const { error, id } = r.data;
    return { kind: 'message', message: { kind: 'error', errorClass: error.class, desc: error.desc, id } };
  }
  if ('event' in value) {
    const r = qmpEventSchema.safeParse(value);
    if (!r.success) return { kind: 'error', error: protocolError('a malformed event', value, issuesOf(r.error)) };
    const { event, data, timestamp } = r.data;
    return { kind: 'message', message: { kind: 'event', event, data: data ?? {}, timestamp } };
  }
  return { kind: 'error', error: protocolError('an object that is neither greeting, return, error nor event', value) };
}
