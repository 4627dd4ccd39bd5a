/**
 * The 30 OCloudView endpoints ATP speaks, one entry each: method, path
 * template, the schema of its parameters (path `{name}`s and query, together),
 * of its body and of its answer's `data`. The request path (http.ts) is
 * generic over these entries, so adding an endpoint adds a line here, not a
 * function there. host/test/vdi-schemas.test.ts checks this table against
 * api-subset.json in both directions.
 */
import { z } from 'zod';
import { eventIdSchema, pageResult, pagingParams } from './schemas/common.js';
import {
  batchTaskResultSchema,
  batchTaskSchema,
  bindUserResultSchema,
  bindUserSchema,
  deleteDomainsSchema,
  domainIdParams,
  domainPortSchema,
  domainQuerySchema,
  domainSchema,
  domainUpdateSchema,
  spiceKeySchema,
  unbindUserSchema,
  vncPasswordParams,
  vncPasswordSchema,
} from './schemas/domain.js';
import { eventIdParams, eventQuerySchema, eventSchema } from './schemas/event.js';
import { hostAllQuerySchema, hostPageQuerySchema, hostSchema } from './schemas/host.js';
import { modelQuerySchema, poolCreateSchema, poolIdParams, poolQuerySchema, poolSchema, poolUpdateSchema } from './schemas/pool.js';
import { loginBodySchema, loginResultSchema, userGroupSchema, userQuerySchema, userSchema } from './schemas/user.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface Endpoint<P extends z.ZodType | undefined = z.ZodType | undefined, B extends z.ZodType | undefined = z.ZodType | undefined, D extends z.ZodType | undefined = z.ZodType | undefined> {
  readonly method: HttpMethod;
  /** Path template; `{name}` is filled from the parameter of that name, the other parameters go to the query. */
  readonly path: string;
  readonly params?: P;
  readonly body?: B;
  /** Schema of the answer's `data`; absent: the answer is the bare envelope. */
  readonly data?: D;
  /** `data` is a PageResult: the client walks pageNum/pageSize. */
  readonly paged?: boolean;
  /** Sent without a token (login). */
  readonly anonymous?: boolean;
}

export type ParamsOf<E> = E extends Endpoint<infer P, z.ZodType | undefined, z.ZodType | undefined> ? (P extends z.ZodType ? z.input<P> : undefined) : never;
export type BodyOf<E> = E extends Endpoint<z.ZodType | undefined, infer B, z.ZodType | undefined> ? (B extends z.ZodType ? z.input<B> : undefined) : never;
export type DataOf<E> = E extends Endpoint<z.ZodType | undefined, z.ZodType | undefined, infer D> ? (D extends z.ZodType ? z.output<D> : undefined) : never;

/** An entry as written in ENDPOINTS: the parts it has are typed as present. */
export type DefinedEndpoint<P extends z.ZodType | undefined, B extends z.ZodType | undefined, D extends z.ZodType | undefined> = Endpoint<P, B, D> & { readonly params: P; readonly body: B; readonly data: D };

function endpoint<P extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined, D extends z.ZodType | undefined = undefined>(e: Endpoint<P, B, D>): DefinedEndpoint<P, B, D> {
  return { params: undefined, body: undefined, data: undefined, ...e } as DefinedEndpoint<P, B, D>;
}

/** A list answer: null or absent reads as []. */
const list = <T extends z.ZodType>(item: T) => z.array(item).nullish().transform((v) => v ?? []);

const V1 = '/ocloud/v1';

export const ENDPOINTS = {
  login: endpoint({ method: 'POST', path: `${V1}/login`, body: loginBodySchema, data: loginResultSchema, anonymous: true }),
  logout: endpoint({ method: 'POST', path: `${V1}/logout` }),

  hostPage: endpoint({ method: 'GET', path: `${V1}/host`, params: hostPageQuerySchema.extend(pagingParams), data: pageResult(hostSchema), paged: true }),
  hostAll: endpoint({ method: 'GET', path: `${V1}/host/all`, params: hostAllQuerySchema, data: list(hostSchema) }),

  domainPage: endpoint({ method: 'GET', path: `${V1}/domain`, params: domainQuerySchema.extend(pagingParams), data: pageResult(domainSchema), paged: true }),
  domainOne: endpoint({ method: 'GET', path: `${V1}/domain/{id}`, params: domainIdParams, data: domainSchema }),
  domainUpdate: endpoint({ method: 'PATCH', path: `${V1}/domain/{id}`, params: domainIdParams, body: domainUpdateSchema }),
  domainStart: endpoint({ method: 'POST', path: `${V1}/domain/start`, body: batchTaskSchema, data: batchTaskResultSchema }),
  domainClose: endpoint({ method: 'POST', path: `${V1}/domain/close`, body: batchTaskSchema, data: batchTaskResultSchema }),
  domainReboot: endpoint({ method: 'POST', path: `${V1}/domain/reboot`, body: batchTaskSchema, data: batchTaskResultSchema }),
  domainSuspend: endpoint({ method: 'POST', path: `${V1}/domain/suspend`, body: batchTaskSchema, data: batchTaskResultSchema }),
  domainResume: endpoint({ method: 'POST', path: `${V1}/domain/resume`, body: batchTaskSchema, data: batchTaskResultSchema }),
  domainDelete: endpoint({ method: 'POST', path: `${V1}/domain/delete`, body: deleteDomainsSchema }),
  domainBindUser: endpoint({ method: 'POST', path: `${V1}/domain/bind-user`, body: bindUserSchema, data: bindUserResultSchema }),
  domainUnbindUser: endpoint({ method: 'POST', path: `${V1}/domain/unbind-user`, body: unbindUserSchema }),
  domainSpiceKey: endpoint({ method: 'GET', path: `${V1}/domain/{id}/spice-key`, params: domainIdParams, data: spiceKeySchema }),
  domainPorts: endpoint({ method: 'GET', path: `${V1}/domain/{id}/port`, params: domainIdParams, data: list(domainPortSchema) }),
  domainVncPassword: endpoint({ method: 'GET', path: `${V1}/domain/{id}/vnc-password`, params: vncPasswordParams, data: vncPasswordSchema }),

  poolPage: endpoint({ method: 'GET', path: `${V1}/desk-pool`, params: poolQuerySchema.extend(pagingParams), data: pageResult(poolSchema), paged: true }),
  poolCreate: endpoint({ method: 'POST', path: `${V1}/desk-pool`, body: poolCreateSchema, data: eventIdSchema }),
  poolUpdate: endpoint({ method: 'PATCH', path: `${V1}/desk-pool/{id}`, params: poolIdParams, body: poolUpdateSchema, data: eventIdSchema }),
  poolDelete: endpoint({ method: 'DELETE', path: `${V1}/desk-pool/{id}`, params: poolIdParams }),
  poolEnable: endpoint({ method: 'POST', path: `${V1}/desk-pool/{id}/enable`, params: poolIdParams }),
  poolDisable: endpoint({ method: 'POST', path: `${V1}/desk-pool/{id}/disable`, params: poolIdParams }),
  poolDomains: endpoint({ method: 'GET', path: `${V1}/desk-pool/{id}/domain/list`, params: poolIdParams, data: list(domainSchema) }),

  modelPage: endpoint({ method: 'GET', path: `${V1}/model`, params: modelQuerySchema.extend(pagingParams), data: pageResult(domainSchema), paged: true }),
  userPage: endpoint({ method: 'GET', path: `${V1}/user`, params: userQuerySchema.extend(pagingParams), data: pageResult(userSchema), paged: true }),
  groupTree: endpoint({ method: 'GET', path: `${V1}/group/tree`, data: list(userGroupSchema) }),

  eventPage: endpoint({ method: 'GET', path: `${V1}/event`, params: eventQuerySchema.extend(pagingParams), data: pageResult(eventSchema), paged: true }),
  eventOne: endpoint({ method: 'GET', path: `${V1}/event/{id}`, params: eventIdParams, data: eventSchema }),
} as const;

export type EndpointName = keyof typeof ENDPOINTS;

/** `GET /ocloud/v1/domain/{id}`: how errors and logs name an endpoint. */
export function endpointLabel(e: Endpoint): string {
  return `${e.method} ${e.path}`;
}
