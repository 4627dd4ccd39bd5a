/**
 * The HTTP API's shared shapes (/api/v1): the one error body every failing
 * request gets, paging, and the live-event envelope of /api/v1/events.
 * Per-area request and response schemas live beside this file (hosts.ts,
 * input.ts, runs.ts, ...); host/src/api/v1 validates every body and query with
 * them and the OpenAPI document is generated from them.
 */
import { z } from 'zod';

/** Every non-2xx answer: the AtpError's stable code, its message, and details that name the field. */
export const ApiErrorSchema = z.strictObject({
  error: z.strictObject({
    code: z.string().min(1),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ApiError = z.output<typeof ApiErrorSchema>;

export const ApiOkSchema = z.strictObject({ ok: z.literal(true) });

/** `?limit=&offset=` of list endpoints. */
export const ApiPageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** The kinds of live events /api/v1/events carries. */
export const API_EVENT_KINDS = ['run', 'agent', 'metrics', 'log'] as const;
export type ApiEventKind = (typeof API_EVENT_KINDS)[number];

/**
 * One live event: `index` increases by one per event over the server's life
 * (a client resumes with the last index it saw), `at` is ISO time, `kind`
 * says what `data` is: a run event (run-events.ts) with its run id, an agent
 * connecting or leaving, a hub metrics sample, or a server log line.
 */
export const ApiEventSchema = z.strictObject({
  index: z.number().int().min(1),
  at: z.string(),
  kind: z.enum(API_EVENT_KINDS),
  runId: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});
export type ApiEvent = z.output<typeof ApiEventSchema>;
