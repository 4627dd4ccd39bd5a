/**
 * Domains (desk pool clones): GET /ocloud/v1/domain (page), GET and PATCH
 * /domain/{id}, POST /domain/delete, /domain/bind-user, /domain/unbind-user.
 * The page lists clones (models are at /model); GET /domain/{id} also answers
 * a model's id. Status comes from libvirt (status.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bindUserBody, deleteDomainsBody, domainUpdateBody, unbindUserBody } from '../bodies.js';
import { removeClone, requireIdle } from '../clones.js';
import type { SimContext } from '../context.js';
import { badRequest, conflict, notFound, ok } from '../envelope.js';
import { page, pagingShape, parseInput, queryInt, queryIntList, queryText } from '../input.js';
import { statusView } from '../status.js';
import type { SimDomain } from '../store.js';

const domainQuery = z.object({
  agentVersion: queryText.optional(),
  freeze: queryText.optional(),
  hostId: queryText.optional(),
  isBindUser: queryInt(0, 1).optional(),
  isConnected: queryInt(0, 1).optional(),
  keyword: queryText.optional(),
  motherId: queryText.optional(),
  osType: queryText.optional(),
  osTypeOrder: queryText.optional(),
  poolId: queryText.optional(),
  status: queryIntList(0, 9).optional(),
  ...pagingShape,
});

interface IdParams {
  id: string;
}

const given = (v: string | undefined): v is string => v !== undefined && v !== '';
const HARDWARE_FIELDS = ['autoJoinDomain', 'command', 'cores', 'cpu', 'disableAlpha', 'domainFake', 'gpuType', 'graphicsCardNum', 'hostBiosEnable', 'hostModelEnable', 'memory', 'mouseMode', 'nestedVirtual', 'osType', 'soundcardType', 'threads', 'vgpuType'] as const;

export function domainOf(ctx: SimContext, id: string, field = 'id'): SimDomain {
  const domain = ctx.store.domains.get(id);
  if (domain === undefined) throw notFound(`${field}: no domain '${id}'`);
  return domain;
}

export function registerDomainRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get('/ocloud/v1/domain', async (request) => {
    const q = parseInput(domainQuery, request.query, 'query');
    const view = await statusView(ctx);
    const list = [...ctx.store.domains.values()].map(view.domain).filter(
      (d) =>
        (!given(q.hostId) || d.hostId === q.hostId) &&
        (q.isBindUser === undefined || (d.userId !== undefined ? 1 : 0) === q.isBindUser) &&
        (q.isConnected === undefined || d.isConnected === q.isConnected) &&
        (!given(q.keyword) || d.name.includes(q.keyword)) &&
        (!given(q.motherId) || d.motherId === q.motherId) &&
        (q.status === undefined || q.status.length === 0 || q.status.includes(d.status)) &&
        // Fields the simulator never sets: a filter on them matches nothing.
        !given(q.poolId) &&
        !given(q.osType) &&
        !given(q.agentVersion) &&
        !given(q.freeze),
    );
    return ok(page(list, q));
  });

  app.get<{ Params: IdParams }>('/ocloud/v1/domain/:id', async (request) => {
    const { id } = request.params;
    const view = await statusView(ctx);
    const domain = ctx.store.domains.get(id);
    if (domain !== undefined) return ok(view.domain(domain));
    const model = view.modelRecords().find((m) => m.id === id);
    if (model === undefined) throw notFound(`id: no domain '${id}'`);
    return ok(model);
  });

  app.patch<{ Params: IdParams }>('/ocloud/v1/domain/:id', async (request) => {
    const domain = domainOf(ctx, request.params.id);
    const body = parseInput(domainUpdateBody, request.body, 'body');
    const hardware = HARDWARE_FIELDS.find((f) => body[f] !== undefined);
    if (hardware !== undefined) throw badRequest(`${hardware}: changing the hardware of a clone is not supported by the simulator`);
    if (body.name !== undefined && body.name !== domain.name) await rename(ctx, domain, body.name);
    if (body.remark !== undefined) domain.remark = body.remark;
    domain.updateTime = Date.now();
    return ok();
  });

  app.post('/ocloud/v1/domain/delete', async (request) => {
    const body = parseInput(deleteDomainsBody, request.body, 'body');
    // isRecycle 1 (to the recycle bin) deletes too: the simulator has no recycle bin.
    const domains = [...new Set(body.domainIdList)].map((id) => domainOf(ctx, id, 'domainIdList'));
    requireIdle(ctx, domains);
    for (const d of domains) ctx.store.busy.add(d.id);
    try {
      for (const d of domains) await removeClone(ctx, d);
    } finally {
      for (const d of domains) ctx.store.busy.delete(d.id);
    }
    return ok();
  });

  app.post('/ocloud/v1/domain/bind-user', (request) => {
    const body = parseInput(bindUserBody, request.body, 'body');
    const user = ctx.directory.users.find((u) => u.id === body.userId);
    if (user === undefined) throw notFound(`userId: no user '${body.userId}'`);
    const notBindDomainIdList: string[] = [];
    for (const id of body.domainIdList) {
      const d = ctx.store.domains.get(id);
      const pool = d === undefined ? undefined : ctx.store.pools.get(d.poolId);
      const ownsOther = d !== undefined && pool?.type === 0 && ctx.store.poolDomains(d.poolId).some((o) => o !== d && o.userId === user.id);
      // Not bindable: unknown, in a shared pool, bound to someone else, or a second VM for the user in a dedicated pool.
      if (d === undefined || pool?.type === 1 || (d.userId !== undefined && d.userId !== user.id) || ownsOther) notBindDomainIdList.push(id);
      else {
        d.userId = user.id;
        d.updateTime = Date.now();
      }
    }
    return ok({ notBindDomainIdList });
  });

  app.post('/ocloud/v1/domain/unbind-user', (request) => {
    const body = parseInput(unbindUserBody, request.body, 'body');
    const domains = body.domainIdList.map((id) => domainOf(ctx, id, 'domainIdList'));
    for (const d of domains) {
      d.userId = undefined;
      d.updateTime = Date.now();
    }
    return ok();
  });
}

/** A new libvirt name: only while shut off and idle; the clone is planned again under the new name (same UUID and dir). */
async function rename(ctx: SimContext, domain: SimDomain, name: string): Promise<void> {
  requireIdle(ctx, [domain]);
  const states = await ctx.backend.states();
  if (states.has(domain.name)) throw conflict(`name: domain '${domain.name}' must be shut off to be renamed`);
  if (states.has(name) || ctx.store.domainByName(name) !== undefined) throw conflict(`name: '${name}' is already taken`);
  const model = ctx.store.models.get(domain.modelId);
  if (model === undefined) throw notFound(`domain '${domain.name}': its model '${domain.modelId}' is gone`);
  domain.plan = ctx.backend.plan(await ctx.backend.templateXml(model), { name, uuid: domain.id, dir: domain.dir });
  domain.name = name;
}
