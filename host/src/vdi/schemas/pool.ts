/**
 * Desk pool and model (template) schemas of the OCloudView contract:
 * DesktopPoolVO, create/update bodies, the list query. Models are DomainVOs
 * (`GET /ocloud/v1/model`), so they reuse domain.ts. Hand-written from
 * api-subset.json under the leniency policy of common.ts.
 */
import { z } from 'zod';
import { id, opt, optList, optNumber, optString, statusInt } from './common.js';

/** Desk pool `type`: 0 dedicated (one VM per user), 1 shared, 2 teaching. */
export const POOL_TYPE = { dedicated: 0, shared: 1, teaching: 2 } as const;

/** `ModelVO0`: a model named in a pool. */
export const poolModelSchema = z.looseObject({ id: optString(), name: optString() });

/** `DesktopPoolVO`: id and name are what the client relies on. */
export const poolSchema = z.looseObject({
  id,
  name: z.string(),
  adminId: optString(),
  adminName: optString(),
  amount: optNumber(),
  classNo: optString(),
  curModelId: optString(),
  curModelName: optString(),
  domainPrefix: optString(),
  enabled: opt(statusInt),
  forceFreeze: optNumber(),
  groupNameList: optList(z.string()),
  ldapOpen: optString(),
  ldapType: optString(),
  modelId: optString(),
  modelList: optList(poolModelSchema),
  remark: optString(),
  status: opt(statusInt),
  tableOpen: optNumber(),
  type: opt(statusInt),
  usedAmount: optNumber(),
});
export type DesktopPoolVO = z.output<typeof poolSchema>;

/** Query of `GET /ocloud/v1/desk-pool` (paging added by the walker). */
export const poolQuerySchema = z.strictObject({
  keyword: z.string().optional(),
  type: z.number().int().optional(),
  typeList: z.array(z.number().int()).optional(),
});
export type PoolQuery = z.input<typeof poolQuerySchema>;

/** `DeskPoolCreateDto`: clones `amount` VMs of the model; answers an event. */
export const poolCreateSchema = z.strictObject({
  name: z.string().min(1),
  amount: z.number().int().min(1),
  type: z.number().int().min(0),
  modelId: z.string().min(1),
  domainPrefix: z.string().optional(),
  remark: z.string().optional(),
  classNo: z.string().optional(),
  forceFreeze: z.number().int().optional(),
});
export type PoolCreate = z.input<typeof poolCreateSchema>;

/** `DeskPoolUpdateDto`. */
export const poolUpdateSchema = z.strictObject({
  name: z.string().min(1),
  amount: z.number().int().min(0),
  modelId: z.string().optional(),
  remark: z.string().optional(),
});
export type PoolUpdate = z.input<typeof poolUpdateSchema>;

/** Path parameter of every `/desk-pool/{id}…` call. */
export const poolIdParams = z.strictObject({ id });

/** Query of `GET /ocloud/v1/model`. */
export const modelQuerySchema = z.strictObject({
  keyword: z.string().optional(),
  poolId: z.string().optional(),
});
export type ModelQuery = z.input<typeof modelQuerySchema>;
