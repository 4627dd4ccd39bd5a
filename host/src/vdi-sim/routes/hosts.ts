/**
 * GET /ocloud/v1/host (page), /host/all and /model (page). One host: this
 * machine. Models: the template domains given at start. The simulator has no
 * resource pools and no VMC, so a non-empty `poolId` or `vmcId` filter matches
 * nothing (a desk pool's VMs are listed by /desk-pool/{id}/domain/list).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimContext } from '../context.js';
import { ok } from '../envelope.js';
import { page, pagingShape, parseInput, queryInt, queryIntList, queryText } from '../input.js';
import { hostVO, type HostVO } from '../records.js';
import { statusView } from '../status.js';

const hostFilter = {
  arch: queryText.optional(),
  name: queryText.optional(),
  poolId: queryText.optional(),
  status: queryIntList(0, 9).optional(),
  vmcId: queryText.optional(),
  notBindPool: queryInt(0, 1).optional(),
};
const hostPageQuery = z.object({ ...hostFilter, ...pagingShape });
const hostAllQuery = z.object(hostFilter);
const modelQuery = z.object({ keyword: queryText.optional(), poolId: queryText.optional(), ...pagingShape });

const given = (v: string | undefined): v is string => v !== undefined && v !== '';

async function hosts(ctx: SimContext, q: z.output<typeof hostAllQuery>): Promise<HostVO[]> {
  const view = await statusView(ctx);
  const running = [...ctx.store.domains.values()].filter((d) => view.status(d.id, d.name) === 1).length + [...ctx.store.models.values()].filter((m) => view.status(m.id, m.name) === 1).length;
  const host = hostVO(ctx.host, running);
  const keep =
    (!given(q.arch) || q.arch === host.arch) &&
    (!given(q.name) || host.name.includes(q.name)) &&
    !given(q.poolId) &&
    !given(q.vmcId) &&
    q.notBindPool !== 0 &&
    (q.status === undefined || q.status.length === 0 || q.status.includes(host.status));
  return keep ? [host] : [];
}

export function registerHostRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get('/ocloud/v1/host', async (request) => {
    const q = parseInput(hostPageQuery, request.query, 'query');
    return ok(page(await hosts(ctx, q), q));
  });

  app.get('/ocloud/v1/host/all', async (request) => ok(await hosts(ctx, parseInput(hostAllQuery, request.query, 'query'))));

  app.get('/ocloud/v1/model', async (request) => {
    const q = parseInput(modelQuery, request.query, 'query');
    const view = await statusView(ctx);
    const models = view.modelRecords().filter((m) => (!given(q.keyword) || m.name.includes(q.keyword)) && !given(q.poolId));
    return ok(page(models, q));
  });
}
