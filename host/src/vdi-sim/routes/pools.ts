/**
 * Desk pools: GET /ocloud/v1/desk-pool (page), POST (create: answers an event
 * that completes when the clones are planned), PATCH /{id} (name, remark, the
 * model of new clones, amount: more clones are planned, surplus ones removed
 * newest first), DELETE /{id} (its clones destroyed and forgotten),
 * POST /{id}/enable|disable, GET /{id}/domain/list.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { poolCreateBody, poolUpdateBody } from '../bodies.js';
import { planClones, removeClone, requireIdle } from '../clones.js';
import type { SimContext } from '../context.js';
import { conflict, notFound, ok } from '../envelope.js';
import { newId } from '../ids.js';
import { page, pagingShape, parseInput, queryInt, queryIntList, queryText } from '../input.js';
import { poolVO } from '../records.js';
import { statusView } from '../status.js';
import { EVENT_TYPE, OPERATE_TYPE, type SimModel, type SimPool } from '../store.js';

const poolQuery = z.object({ keyword: queryText.optional(), type: queryInt(0, 2).optional(), typeList: queryIntList(0, 2).optional(), ...pagingShape });

interface IdParams {
  id: string;
}

function poolOf(ctx: SimContext, id: string): SimPool {
  const pool = ctx.store.pools.get(id);
  if (pool === undefined) throw notFound(`id: no desk pool '${id}'`);
  return pool;
}

function modelOf(ctx: SimContext, id: string): SimModel {
  const model = ctx.store.models.get(id);
  if (model === undefined) throw notFound(`modelId: no model '${id}' (models: ${[...ctx.store.models.values()].map((m) => `${m.id} (${m.name})`).join(', ')})`);
  return model;
}

function requireUniqueName(ctx: SimContext, name: string, self?: SimPool): void {
  const other = [...ctx.store.pools.values()].find((p) => p !== self && p.name === name);
  if (other) throw conflict(`name: a desk pool named '${name}' already exists (${other.id})`);
}

function requirePoolIdle(ctx: SimContext, pool: SimPool): void {
  if (ctx.store.busy.has(pool.id)) throw conflict(`desk pool ${pool.id} (${pool.name}): an operation is in progress`);
}

export function registerPoolRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get('/ocloud/v1/desk-pool', (request) => {
    const q = parseInput(poolQuery, request.query, 'query');
    const types = [...(q.type === undefined ? [] : [q.type]), ...(q.typeList ?? [])];
    const pools = [...ctx.store.pools.values()]
      .filter((p) => (q.keyword === undefined || p.name.includes(q.keyword)) && (types.length === 0 || types.includes(p.type)))
      .map((p) => poolVO(p, ctx.store.poolDomains(p.id), ctx.store.models));
    return ok(page(pools, q));
  });

  app.post('/ocloud/v1/desk-pool', (request) => {
    const body = parseInput(poolCreateBody, request.body, 'body');
    const model = modelOf(ctx, body.modelId);
    requireUniqueName(ctx, body.name);
    const id = newId();
    const domainPrefix = body.domainPrefix ?? `pool-${id.slice(0, 8)}`;
    const sharing = [...ctx.store.pools.values()].find((p) => p.domainPrefix === domainPrefix);
    if (sharing) throw conflict(`domainPrefix: '${domainPrefix}' is used by desk pool '${sharing.name}'`);
    const pool: SimPool = {
      id,
      name: body.name,
      type: body.type,
      modelId: model.id,
      curModelId: model.id,
      domainPrefix,
      amount: body.amount,
      remark: body.remark,
      classNo: body.classNo,
      forceFreeze: body.forceFreeze,
      enabled: 1,
      createTime: Date.now(),
      nextIndex: 1,
    };
    ctx.store.pools.set(id, pool);
    const event = ctx.store.addEvent({ operateType: OPERATE_TYPE.createPool, eventType: EVENT_TYPE.pool, description: `create desk pool '${pool.name}' with ${body.amount} clone(s) of '${model.name}'` });
    ctx.tasks.run(event, pool.id, async () => void (await planClones(ctx, pool, model, body.amount)));
    return ok({ eventId: event.id });
  });

  app.patch<{ Params: IdParams }>('/ocloud/v1/desk-pool/:id', (request) => {
    const pool = poolOf(ctx, request.params.id);
    const body = parseInput(poolUpdateBody, request.body, 'body');
    const model = body.modelId === undefined ? modelOf(ctx, pool.curModelId) : modelOf(ctx, body.modelId);
    requireUniqueName(ctx, body.name, pool);
    requirePoolIdle(ctx, pool);
    const domains = ctx.store.poolDomains(pool.id);
    const surplus = domains.slice(Math.min(body.amount, domains.length)).reverse();
    requireIdle(ctx, surplus);
    pool.name = body.name;
    if (body.remark !== undefined) pool.remark = body.remark;
    pool.curModelId = model.id;
    pool.amount = body.amount;
    const more = body.amount - domains.length;
    const event = ctx.store.addEvent({ operateType: OPERATE_TYPE.updatePool, eventType: EVENT_TYPE.pool, description: `update desk pool '${pool.name}' to ${body.amount} clone(s)` });
    ctx.tasks.run(event, pool.id, async () => {
      if (more > 0) await planClones(ctx, pool, model, more);
      for (const d of surplus) await removeClone(ctx, d);
    });
    return ok({ eventId: event.id });
  });

  app.delete<{ Params: IdParams }>('/ocloud/v1/desk-pool/:id', async (request) => {
    const pool = poolOf(ctx, request.params.id);
    requirePoolIdle(ctx, pool);
    const domains = ctx.store.poolDomains(pool.id);
    requireIdle(ctx, domains);
    const marks = [pool.id, ...domains.map((d) => d.id)];
    for (const id of marks) ctx.store.busy.add(id);
    try {
      for (const d of domains) await removeClone(ctx, d);
      ctx.store.pools.delete(pool.id);
    } finally {
      for (const id of marks) ctx.store.busy.delete(id);
    }
    return ok();
  });

  for (const [verb, enabled] of [['enable', 1], ['disable', 0]] as const) {
    app.post<{ Params: IdParams }>(`/ocloud/v1/desk-pool/:id/${verb}`, (request) => {
      poolOf(ctx, request.params.id).enabled = enabled;
      return ok();
    });
  }

  app.get<{ Params: IdParams }>('/ocloud/v1/desk-pool/:id/domain/list', async (request) => {
    const pool = poolOf(ctx, request.params.id);
    const view = await statusView(ctx);
    return ok(ctx.store.poolDomains(pool.id).map(view.domain));
  });
}
