/**
 * zod schemas for what the QEMU guest agent sends back: the reply envelope and
 * the `return` payloads of the commands ATP uses. Field names follow qemu-ga's
 * QAPI schema (qga/qapi-schema.json), checked against qemu-ga 7.2.
 */
import { z } from 'zod';
import { AtpError } from '@atp/protocol';

/** A reply line: `{"return": ...}` or `{"error": {"class", "desc"}}`, with the request id echoed if one was sent. */
export const qgaReplyEnvelopeSchema = z.union([
  z.object({ return: z.unknown(), id: z.unknown().optional() }).refine((v) => 'return' in v, { message: 'missing "return"' }),
  z.object({ error: z.object({ class: z.string(), desc: z.string() }), id: z.unknown().optional() }),
]);

export const guestInfoSchema = z.object({
  version: z.string(),
  supported_commands: z.array(z.object({ name: z.string(), enabled: z.boolean(), 'success-response': z.boolean().optional() })),
});
export type GuestInfo = z.infer<typeof guestInfoSchema>;

export const guestOsInfoSchema = z.object({
  'kernel-release': z.string().optional(),
  'kernel-version': z.string().optional(),
  machine: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  'pretty-name': z.string().optional(),
  version: z.string().optional(),
  'version-id': z.string().optional(),
  variant: z.string().optional(),
  'variant-id': z.string().optional(),
});
export type GuestOsInfo = z.infer<typeof guestOsInfoSchema>;

export const emptyReturnSchema = z.object({});

export const guestExecSchema = z.object({ pid: z.number().int() });

export const guestExecStatusSchema = z.object({
  exited: z.boolean(),
  exitcode: z.number().int().optional(),
  signal: z.number().int().optional(),
  'out-data': z.string().optional(),
  'err-data': z.string().optional(),
  'out-truncated': z.boolean().optional(),
  'err-truncated': z.boolean().optional(),
});
export type GuestExecStatus = z.infer<typeof guestExecStatusSchema>;

export const guestFileOpenSchema = z.number().int();
export const guestFileReadSchema = z.object({ count: z.number().int().nonnegative(), 'buf-b64': z.string(), eof: z.boolean() });
export const guestFileWriteSchema = z.object({ count: z.number().int().nonnegative(), eof: z.boolean() });

/** Validates a command's `return` payload; a mismatch is ATP_SCHEMA_INVALID naming the command and field. */
export function parseReturn<S extends z.ZodType>(command: string, schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue === undefined ? '' : issue.path.join('.');
  throw new AtpError('ATP_SCHEMA_INVALID', `guest agent reply to ${command} is invalid${field ? ` at "${field}"` : ''}: ${issue?.message ?? 'unknown'}`, {
    details: { command, field },
    cause: result.error,
  });
}
