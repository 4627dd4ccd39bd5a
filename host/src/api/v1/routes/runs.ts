/**
 * /api/v1/runs: start a run (201 { id, status }; every suite is loaded and
 * planned first: a bad one is 400 naming file:line:column), the history
 * newest first with paging, a run's detail with per-VM progress, cancel (409
 * once it ended), delete (409 while it runs), its report as JSON, JUnit XML
 * and a self-contained HTML page, and its stored run events. The RunManager
 * (api/v1/runs/) does the work; live events go out on /api/v1/events.
 */
import {
  ApiOkSchema,
  ApiRunCreatedSchema,
  ApiRunDetailSchema,
  ApiRunEventsQuerySchema,
  ApiRunEventsSchema,
  ApiRunIdParamsSchema,
  ApiRunListQuerySchema,
  ApiRunListSchema,
  ApiRunRequestSchema,
  ReportV1Schema,
} from '@atp/protocol';
import { formatHtmlReport } from '../../../report/html.js';
import { toJunitXml } from '../../../report/index.js';
import { defineRoute, type ApiRoute } from '../route.js';
import { runsOf } from '../runs/index.js';

const TAG = 'runs';

export function runRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/runs',
      summary: 'Start a run of suites on VMs (lab, a libvirt domain, a selector, a platform); suites are validated and planned first',
      tag: TAG,
      body: ApiRunRequestSchema,
      response: ApiRunCreatedSchema,
      status: 201,
      handler: async ({ body }, context) => runsOf(context).start(body),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/runs',
      summary: 'The run history, newest first',
      tag: TAG,
      query: ApiRunListQuerySchema,
      response: ApiRunListSchema,
      handler: async ({ query }, context) => {
        const { runs, total } = runsOf(context).list(query);
        return { runs, total, limit: query.limit, offset: query.offset };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/runs/:id',
      summary: "A run's status, options, per-VM progress and fleet summary",
      tag: TAG,
      params: ApiRunIdParamsSchema,
      response: ApiRunDetailSchema,
      handler: async ({ params }, context) => runsOf(context).detail(params.id),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/runs/:id/cancel',
      summary: 'Cancel a queued or running run (its partial report is kept); 409 once it has ended',
      tag: TAG,
      params: ApiRunIdParamsSchema,
      response: ApiRunCreatedSchema,
      status: 202,
      handler: async ({ params }, context) => runsOf(context).cancel(params.id),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/runs/:id',
      summary: 'Delete an ended run with its events and report; 409 while it runs',
      tag: TAG,
      params: ApiRunIdParamsSchema,
      response: ApiOkSchema,
      handler: async ({ params }, context) => {
        runsOf(context).delete(params.id);
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/runs/:id/report',
      summary: "The run's report (ReportV1 JSON)",
      tag: TAG,
      params: ApiRunIdParamsSchema,
      response: ReportV1Schema,
      handler: async ({ params }, context) => runsOf(context).report(params.id).report,
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/runs/:id/report.xml',
      summary: "The run's report as JUnit XML",
      tag: TAG,
      params: ApiRunIdParamsSchema,
      produces: ['application/xml'],
      handler: async ({ params }, context) => {
        const { report, stepLabels } = runsOf(context).report(params.id);
        return { raw: true, contentType: 'application/xml; charset=utf-8', body: toJunitXml(report, { stepLabels }) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/runs/:id/report.html',
      summary: "The run's report as one self-contained HTML page (plots included, no network)",
      tag: TAG,
      params: ApiRunIdParamsSchema,
      produces: ['text/html'],
      handler: async ({ params }, context) => {
        const { report, stepLabels } = runsOf(context).report(params.id);
        return { raw: true, contentType: 'text/html; charset=utf-8', body: formatHtmlReport(report, { stepLabels, title: `ATP run ${params.id}` }) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/runs/:id/events',
      summary: "The run's stored run events in order (paged with after/limit)",
      tag: TAG,
      params: ApiRunIdParamsSchema,
      query: ApiRunEventsQuerySchema,
      response: ApiRunEventsSchema,
      handler: async ({ params, query }, context) => {
        const { status, events } = runsOf(context).events(params.id, { after: query.after, limit: query.limit + 1 });
        const page = events.slice(0, query.limit);
        const last = page.at(-1);
        return { runId: params.id, status, events: page, ...(events.length > query.limit && last !== undefined ? { next: last.seq } : {}) };
      },
    }),
  ];
}
