/**
 * Event schemas of the OCloudView contract: EventVO (the outcome of an
 * asynchronous task) and the list query. Hand-written from api-subset.json
 * under the leniency policy of common.ts.
 */
import { z } from 'zod';
import { id, opt, optNumber, optString, optTime, statusInt } from './common.js';

/** `EventVO`: id and isSuccess are what the client relies on; isSuccess absent means "still running". */
export const eventSchema = z.looseObject({
  id,
  isSuccess: opt(statusInt),
  errorReason: optString(),
  domainId: optString(),
  domainName: optString(),
  description: optString(),
  createTime: optTime(),
  updateTime: optTime(),
  eventType: optNumber(),
  hostId: optString(),
  ip: optString(),
  isAsc: optNumber(),
  operateType: optNumber(),
});
export type EventVO = z.output<typeof eventSchema>;

/** Query of `GET /ocloud/v1/event` (paging added by the walker). */
export const eventQuerySchema = z.strictObject({
  domainName: z.string().optional(),
  ip: z.string().optional(),
  isSuccess: z.number().int().optional(),
  operateType: z.string().optional(),
});
export type EventQuery = z.input<typeof eventQuerySchema>;

/** Path parameter of `GET /event/{id}`. */
export const eventIdParams = z.strictObject({ id });
