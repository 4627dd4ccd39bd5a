/**
 * Task events: GET /ocloud/v1/event (page, newest first; filters domainName
 * (part of), ip, isSuccess, operateType) and GET /event/{id}. A running task's
 * event has no isSuccess yet, so an isSuccess filter leaves it out.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimContext } from '../context.js';
import { notFound, ok } from '../envelope.js';
import { page, pagingShape, parseInput, queryInt, queryText } from '../input.js';
import { eventVO } from '../records.js';

const eventQuery = z.object({
  domainName: queryText.optional(),
  ip: queryText.optional(),
  isSuccess: queryInt(0, 1).optional(),
  operateType: queryInt(0, 1000).optional(),
  ...pagingShape,
});

export function registerEventRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get('/ocloud/v1/event', (request) => {
    const q = parseInput(eventQuery, request.query, 'query');
    const list = [...ctx.store.events.values()]
      .reverse()
      .map((e) => eventVO(e, ctx.host))
      .filter(
        (e) =>
          (q.domainName === undefined || q.domainName === '' || (e.domainName ?? '').includes(q.domainName)) &&
          (q.ip === undefined || q.ip === '' || e.ip === q.ip) &&
          (q.isSuccess === undefined || e.isSuccess === q.isSuccess) &&
          (q.operateType === undefined || e.operateType === q.operateType),
      );
    return ok(page(list, q));
  });

  app.get<{ Params: { id: string } }>('/ocloud/v1/event/:id', (request) => {
    const event = ctx.store.events.get(request.params.id);
    if (event === undefined) throw notFound(`id: no event '${request.params.id}'`);
    return ok(eventVO(event, ctx.host));
  });
}
