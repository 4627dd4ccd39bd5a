/**
 * Mounts the API under /api/v1 on the server's Fastify instance: auth on
 * every route but the public ones (sign-in, the OpenAPI document), the
 * security headers, JSON bodies capped at `bodyLimit`, each route's params,
 * query and body parsed with its zod schemas (a bad one is 400
 * ATP_SCHEMA_INVALID naming the field), and every failure as the one JSON
 * error body (http-errors.ts). Unknown /api paths are 404 in that shape too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AtpError, parseWith } from '@atp/protocol';
import { SESSION_COOKIE, type ApiAuth } from './auth.js';
import type { ApiContext } from './context.js';
import { toHttpError } from './http-errors.js';
import { isRaw, type ApiRoute } from './route.js';

export const API_PREFIX = '/api/v1';
export const DEFAULT_API_BODY_LIMIT = 1024 * 1024;

export interface ApiV1Options {
  context: ApiContext;
  auth: ApiAuth;
  routes: readonly ApiRoute[];
  /** Paths (exact, after the method) that need no token, e.g. 'GET /api/v1/openapi.json'. */
  publicRoutes?: readonly string[];
  bodyLimit?: number;
}

export function apiHeaders(reply: FastifyReply): void {
  reply.header('Cache-Control', 'no-store');
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'no-referrer');
  reply.header('X-Frame-Options', 'SAMEORIGIN'); // the console (same origin) embeds HTML reports
}

function sendError(reply: FastifyReply, error: unknown, log: (line: string) => void): FastifyReply {
  const { status, body } = toHttpError(error);
  if (status === 500) log(`api: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  apiHeaders(reply);
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Fastify's own errors (body too large, not JSON, wrong content type) as ATP_API_BODY. */
function fastifyError(error: { code?: string; message: string; statusCode?: number }, bodyLimit: number): AtpError {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AtpError('ATP_API_BODY', `request body larger than ${bodyLimit} bytes`, { details: { limit: bodyLimit } });
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AtpError('ATP_API_BODY', 'request body must be application/json', { details: { field: 'content-type' } });
  return new AtpError('ATP_API_BODY', `request body is not valid JSON: ${error.message}`, { details: { field: 'body' } });
}

const SessionBody = z.strictObject({ token: z.string().min(1).max(4096) });

export function registerApiV1(app: FastifyInstance, options: ApiV1Options): void {
  const { context, auth } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_API_BODY_LIMIT;
  const publicRoutes = new Set(['POST /api/v1/session', ...(options.publicRoutes ?? [])]);
  const isApi = (url: string): boolean => url === API_PREFIX || url.startsWith(`${API_PREFIX}/`) || url.startsWith(`${API_PREFIX}?`);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isApi(request.url)) return;
    apiHeaders(reply);
    const path = request.url.split('?')[0] ?? request.url;
    if (publicRoutes.has(`${request.method} ${path}`)) {
      auth.checkOrigin(request);
      return;
    }
    auth.check({ method: request.method, url: request.url, headers: request.headers });
  });

  app.setErrorHandler((error: { code?: string; message: string; statusCode?: number }, request, reply) => {
    if (error instanceof AtpError) return sendError(reply, error, context.log);
    if (typeof error.code === 'string' && error.code.startsWith('FST_ERR_CTP')) return sendError(reply, fastifyError(error, bodyLimit), context.log);
    if (isApi(request.url)) return sendError(reply, error, context.log);
    return reply.code(error.statusCode ?? 500).send({ error: { code: 'ATP_API_INTERNAL', message: error.message } });
  });

  app.post(`${API_PREFIX}/session`, { bodyLimit: 8192 }, async (request, reply) => {
    const { token } = parseWith(SessionBody, request.body, { what: 'sign-in', source: 'request body' });
    const id = auth.openSession(token);
    reply.header('Set-Cookie', `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/`);
    return { ok: true };
  });
  app.delete(`${API_PREFIX}/session`, async (request, reply) => {
    const id = auth.sessionOf(request);
    if (id !== undefined) auth.closeSession(id);
    reply.header('Set-Cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return { ok: true };
  });

  for (const route of options.routes) {
    app.route({
      method: route.method,
      url: route.path,
      bodyLimit,
      handler: async (request, reply) => {
        const controller = new AbortController();
        // The response's close before it finished is the client going away (the request's own close fires once the body is read).
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        const params = route.params === undefined ? {} : parseWith(route.params, request.params, { source: 'path', what: 'parameters' });
        const query = route.query === undefined ? {} : parseWith(route.query, request.query ?? {}, { source: 'query', what: 'query' });
        const body = route.body === undefined ? undefined : parseWith(route.body, request.body ?? {}, { source: 'request body', what: 'body' });
        const result = await route.handler({ params, query, body, signal: controller.signal }, context);
        if (isRaw(result)) return reply.code(result.status ?? 200).type(result.contentType).send(result.body);
        return reply.code(route.status ?? 200).send(result);
      },
    });
  }

  app.setNotFoundHandler((request, reply) => {
    if (isApi(request.url)) return sendError(reply, new AtpError('ATP_API_NOT_FOUND', `no API route ${request.method} ${request.url.split('?')[0] ?? ''}`), context.log);
    return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
  });
}
