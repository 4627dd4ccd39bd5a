/**
 * The simulator's HTTP server (Fastify, as host/src/api/server.ts): the
 * OCloudView admin API under /ocloud/v1. Every request first meets the
 * injected faults (HTTP 500, hang), then the token check (header `Token`;
 * everything but login; 1006 when missing, unknown or expired), then its
 * route. Bodies are JSON (an empty body reads as none). Handlers return
 * envelopes or throw: a SimFailure becomes its envelope, a body the parser
 * refuses a 1001, anything else (a libvirt failure) a 1005 quoting it; all
 * with HTTP 200, as the platform answers its errors.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { isAtpError } from '@atp/protocol';
import type { SimContext } from './context.js';
import { SIM_STATUS, SimFailure } from './envelope.js';
import { registerDisplayRoutes } from './routes/display.js';
import { registerDomainRoutes } from './routes/domains.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHostRoutes } from './routes/hosts.js';
import { registerPoolRoutes } from './routes/pools.js';
import { registerPowerRoutes } from './routes/power.js';
import { LOGIN_PATH, registerSessionRoutes } from './routes/session.js';
import { registerUserRoutes } from './routes/users.js';

const SERVER_ERROR_PAGE = '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n';

export function createSimApp(ctx: SimContext, isClosing: () => boolean): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024 * 1024 });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(new SimFailure(SIM_STATUS.badRequest, 'body: not valid JSON'), undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const fault = ctx.faults.intercept(request.method, path);
    if (fault?.kind === 'hang') await fault.released;
    if (fault?.kind === 'fail' || isClosing()) {
      return reply.code(fault?.kind === 'fail' ? 500 : 503).type('text/html; charset=utf-8').send(SERVER_ERROR_PAGE);
    }
    if (request.routeOptions.url === undefined || (request.method === 'POST' && path === LOGIN_PATH)) return undefined;
    const token = request.headers.token;
    if (ctx.tokens.check(typeof token === 'string' ? token : undefined) === undefined) {
      return reply.send({ status: SIM_STATUS.token, msg: 'token missing, unknown or expired: log in again' });
    }
    return undefined;
  });

  app.setErrorHandler((error: FastifyError | SimFailure | Error, _request, reply) => {
    if (error instanceof SimFailure) return reply.code(200).send({ status: error.status, msg: error.message });
    const statusCode = (error as FastifyError).statusCode;
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      return reply.code(200).send({ status: SIM_STATUS.badRequest, msg: `body: ${error.message}` });
    }
    const what = isAtpError(error) ? `${error.code}: ${error.message}` : error.message;
    return reply.code(200).send({ status: SIM_STATUS.failed, msg: what });
  });

  registerSessionRoutes(app, ctx);
  registerHostRoutes(app, ctx);
  registerPoolRoutes(app, ctx);
  registerDomainRoutes(app, ctx);
  registerPowerRoutes(app, ctx);
  registerDisplayRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  return app;
}
