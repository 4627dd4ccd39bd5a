/**
 * The seeded directory: GET /ocloud/v1/group/tree (organisation units,
 * recursive) and GET /ocloud/v1/user?group=<distinguishedName> (page): the
 * users of that unit and of the units below it; `keyword` matches part of
 * sAMAccountName or displayName; `sortOrder` asc|desc by sAMAccountName.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimContext } from '../context.js';
import { notFound, ok } from '../envelope.js';
import { page, pagingShape, parseInput, queryText } from '../input.js';
import { groupVO, userVO } from '../records.js';
import { allOus } from '../seed.js';

const userQuery = z.object({
  group: queryText.pipe(z.string().min(1, 'must name an organisation unit (its distinguishedName)')),
  keyword: queryText.optional(),
  sortOrder: queryText.pipe(z.enum(['asc', 'desc', 'ASC', 'DESC', ''])).optional(),
  ...pagingShape,
});

export function registerUserRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get('/ocloud/v1/group/tree', () => ok(ctx.directory.tree.map(groupVO)));

  app.get('/ocloud/v1/user', (request) => {
    const q = parseInput(userQuery, request.query, 'query');
    const unit = allOus(ctx.directory.tree).find((o) => o.distinguishedName.toLowerCase() === q.group.toLowerCase());
    if (unit === undefined) throw notFound(`group: no organisation unit '${q.group}'`);
    const below = new Set(allOus([unit]).map((o) => o.id));
    const keyword = q.keyword?.toLowerCase() ?? '';
    const users = ctx.directory.users
      .filter((u) => below.has(u.ou.id) && (u.sAMAccountName.toLowerCase().includes(keyword) || u.displayName.toLowerCase().includes(keyword)))
      .sort((a, b) => a.sAMAccountName.localeCompare(b.sAMAccountName) * (q.sortOrder?.toLowerCase() === 'desc' ? -1 : 1))
      .map(userVO);
    return ok(page(users, q));
  });
}
