/**
 * Building blocks for the OCloudView contract schemas (hand-written from
 * docs/reference/ocloud/api-subset.json; host/test/vdi-schemas.test.ts
 * checks every schema against that file, so a contract change breaks a test).
 *
 * Leniency policy, one place for it:
 * - Answers are loose objects: fields the client does not know pass through.
 * - A field the contract marks optional may be absent or null (Java sends
 *   null); either reads as undefined.
 * - Strict where the client relies on a value: ids, status integers and names
 *   are required and typed even though the contract marks every answer field
 *   optional (the test lists these deliberate choices).
 * - Java timestamps arrive as objects with `time` (epoch ms), as ISO strings in
 *   newer schemas, or as bare epoch numbers; all read as epoch ms.
 * - Numbers the platform sends as strings (SpiceKeyVO.port) and int64 paging
 *   fields (Jackson may write longs as strings) read as numbers.
 * Request bodies are strict objects: the client builds them, a typo is a bug.
 */
import { z } from 'zod';

/** An optional answer field: absent or null read as undefined. */
export function opt<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => v ?? undefined);
}

/** An optional list in an answer: absent or null read as []. */
export function optList<T extends z.ZodType>(item: T) {
  return z.array(item).nullish().transform((v) => v ?? []);
}

/** A platform id (UUID string in the real product; not checked as a UUID, only non-empty). */
export const id = z.string().min(1);

/** A status or enum integer the client acts on. */
export const statusInt = z.number().int();

/** An integer that may arrive as a decimal string. */
export const intLike = z
  .union([z.number().int(), z.string().regex(/^-?\d+$/, 'expected an integer or a decimal string')])
  .transform((v) => (typeof v === 'number' ? v : Number(v)));

/** A Java timestamp: `{time: epochMs, …}`, an ISO string, or epoch ms; read as epoch ms. */
export const timestamp = z
  .union([
    z.looseObject({ time: z.number() }),
    z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO date-time string'),
    z.number(),
  ])
  .transform((v) => (typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : v.time));

/** Every answer: `{status, msg, data}`. `data` is checked per endpoint, after the status. */
export const envelopeSchema = z.looseObject({
  status: statusInt,
  msg: opt(z.string()),
  data: z.unknown().optional(),
});
export type Envelope = z.output<typeof envelopeSchema>;

/** `PageResult«T»`: one page of a list endpoint. */
export function pageResult<T extends z.ZodType>(item: T) {
  return z.looseObject({
    list: optList(item),
    total: opt(intLike),
    pageNum: opt(intLike),
    pageSize: opt(intLike),
    pages: opt(intLike),
  });
}
export interface PageResult<T> {
  list: T[];
  total?: number | undefined;
  pageNum?: number | undefined;
  pageSize?: number | undefined;
  pages?: number | undefined;
}

/** `EventIdVO`: what a call that starts an asynchronous task answers. */
export const eventIdSchema = z.looseObject({ eventId: id });
export type EventIdVO = z.output<typeof eventIdSchema>;

/** Paging query parameters shared by every list endpoint. */
export const pagingParams = {
  pageNum: z.number().int().min(1).optional(),
  pageSize: z.number().int().min(1).optional(),
};

/** Shorthands for the many optional answer fields (see the policy above). */
export const optString = () => opt(z.string());
export const optNumber = () => opt(z.number());
export const optBoolean = () => opt(z.boolean());
export const optTime = () => opt(timestamp);
