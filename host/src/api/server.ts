/**
 * The host's HTTP server: the web verifier page at /verifier and the agent
 * hub's WebSocket endpoint (/ws) on one port, bound to 127.0.0.1 unless told
 * otherwise. The page is static (one self-contained index.html built by
 * web-verifier/scripts/build.ts); the token is checked by the hub in the hello,
 * so a refused page gets an ATP_HUB_AUTH error message it can show.
 *
 * The token travels in the page URL (?token=…): responses carry
 * Referrer-Policy: no-referrer and Cache-Control: no-store so it does not leak
 * through Referer headers or caches.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import { AtpError } from '@atp/protocol';
import type { AgentHub } from '../hub/index.js';
import { DEFAULT_API_HOST, parseListenAddress, urlHost } from './listen-address.js';
import { UpgradeRouter, UpgradeWsListener } from './ws-upgrade.js';
import { ApiAuth } from './v1/auth.js';
import type { ApiContext } from './v1/context.js';
import { EVENTS_PATH, EventsEndpoint, type EventsEndpointOptions } from './v1/events/endpoint.js';
import { EVENTS_SERVICE } from './v1/events/producers.js';
import { registerApiV1 } from './v1/plugin.js';
import type { ApiRoute } from './v1/route.js';

export interface ApiServerOptions {
  hub: AgentHub;
  /** "HOST:PORT" ("[::1]:8080", ":8080", "8080"); wins over host/port. */
  listen?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0, a free port chosen by the system. */
  port?: number;
  /** Path of the hub WebSocket endpoint. Default "/ws". */
  wsPath?: string;
  /** Folder holding the built page (index.html). Default web-verifier/dist/page of this checkout. */
  pageDir?: string;
  /** Folder holding the built web console (index.html + assets), served at /console/. Default web-console/dist of this checkout. */
  consoleDir?: string;
  /** The HTTP API under /api/v1 (api/v1/plugin.ts): its bearer token, the handlers' context, the routes. Absent: no API. */
  api?: {
    token: string;
    context: ApiContext;
    routes: readonly ApiRoute[];
    publicRoutes?: readonly string[];
    bodyLimit?: number;
    /** Bounds of the live events WebSocket (/api/v1/events): backpressure, timeouts, client count. */
    events?: Omit<EventsEndpointOptions, 'log' | 'auth' | 'note'>;
  };
}

export interface VerifierUrlParams {
  token: string;
  agentId?: string;
  /** Hub URL as the page's browser must reach it (a VM sees the host at another address). Default: the page's own server. */
  hub?: string;
}

export interface ApiServer {
  readonly host: string;
  readonly port: number;
  /** http://HOST:PORT */
  readonly httpUrl: string;
  /** ws://HOST:PORT/ws */
  readonly wsUrl: string;
  /** False when the page was not built: /verifier answers 503 with the build command. */
  readonly pageAvailable: boolean;
  readonly pageDir: string;
  /** The hub listener behind /ws (dropConnections() cuts every page's link). */
  readonly ws: UpgradeWsListener;
  readonly app: FastifyInstance;
  /** The API's auth (sessions, origin checks), when the API is on. */
  readonly auth?: ApiAuth;
  /** The live events WebSocket at /api/v1/events, when the API is on. */
  readonly events?: EventsEndpoint;
  /** The origins a browser reaches this server at (Origin checks). */
  readonly origins: readonly string[];
  /** The page URL with its query: /verifier?token=…[&agent=…][&hub=…]. */
  verifierUrl(params: VerifierUrlParams): string;
  /** Stops the endpoint (the pages see the link drop) and the HTTP server. The hub lives on. */
  close(): Promise<void>;
}

export const DEFAULT_WS_PATH = '/ws';
export const DEFAULT_CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web-console/dist');
export const DEFAULT_PAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web-verifier/dist/page');
const BUILD_HINT = 'the web verifier page is not built: run `npm run build:web` (tsx web-verifier/scripts/build.ts)';

function pageHeaders(reply: FastifyReply): void {
  reply.header('Cache-Control', 'no-store');
  reply.header('Referrer-Policy', 'no-referrer');
  reply.header('X-Content-Type-Options', 'nosniff');
}

/** The console is same-origin only: no framing by others, no inline scripts from elsewhere. */
function consoleHeaders(reply: FastifyReply): void {
  reply.header('Cache-Control', 'no-store');
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'no-referrer');
  reply.header('X-Frame-Options', 'SAMEORIGIN');
  reply.header('Content-Security-Policy', "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'");
}

export async function startServer(options: ApiServerOptions): Promise<ApiServer> {
  const address = options.listen !== undefined ? parseListenAddress(options.listen) : { host: options.host ?? DEFAULT_API_HOST, port: options.port ?? 0 };
  const wsPath = options.wsPath ?? DEFAULT_WS_PATH;
  const pageDir = path.resolve(options.pageDir ?? DEFAULT_PAGE_DIR);
  const pageAvailable = existsSync(path.join(pageDir, 'index.html'));
  const app = Fastify({ logger: false, forceCloseConnections: true });
  let port = 0;

  if (pageAvailable) {
    await app.register(fastifyStatic, { root: pageDir, prefix: '/verifier/', cacheControl: false, setHeaders: pageHeaders });
    app.get('/verifier', (_request, reply) => {
      pageHeaders(reply);
      return reply.sendFile('index.html');
    });
  } else {
    app.get('/verifier', (_request, reply) => reply.code(503).type('text/plain; charset=utf-8').send(`${BUILD_HINT}\n`));
    app.get('/verifier/*', (_request, reply) => reply.code(503).type('text/plain; charset=utf-8').send(`${BUILD_HINT}\n`));
  }
  app.get('/', (request, reply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    return reply.redirect(`/verifier${query}`);
  });
  app.get('/healthz', () => ({ ok: true }));
  const consoleDir = path.resolve(options.consoleDir ?? DEFAULT_CONSOLE_DIR);
  if (options.api !== undefined && existsSync(path.join(consoleDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: consoleDir, prefix: '/console/', decorateReply: false, cacheControl: false, setHeaders: consoleHeaders });
    app.get('/console', (_request, reply) => reply.redirect('/console/'));
  }
  let origins: string[] = [];
  const auth = options.api === undefined ? undefined : new ApiAuth(options.api.token, () => origins);
  if (options.api !== undefined && auth !== undefined) {
    registerApiV1(app, { context: options.api.context, auth, routes: options.api.routes, ...(options.api.publicRoutes === undefined ? {} : { publicRoutes: options.api.publicRoutes }), ...(options.api.bodyLimit === undefined ? {} : { bodyLimit: options.api.bodyLimit }) });
  }

  // WebSocket upgrades by path: the hub's /ws and the API's live events; any other path is 404.
  const router = new UpgradeRouter(app.server);
  let events: EventsEndpoint | undefined;
  if (options.api !== undefined && auth !== undefined) {
    const { context } = options.api;
    events = new EventsEndpoint({ ...options.api.events, log: context.events, auth, note: (line) => context.log(line) });
    const endpoint = events;
    router.add(EVENTS_PATH, (request, socket, head) => endpoint.handleUpgrade(request, socket, head));
    context.services.set(EVENTS_SERVICE, endpoint);
  }
  const { maxFrameBytes, wsMaxPayloadBytes } = options.hub.limits;
  const ws = new UpgradeWsListener({ router, path: wsPath, maxFrameBytes, wsMaxPayloadBytes, baseUrl: () => `ws://${urlHost(address.host, port)}` });
  // Attached before listening, so no upgrade can arrive without a handler.
  await options.hub.addListener(ws);
  const stopUpgrades = async (): Promise<void> => {
    await events?.close();
    if (options.api?.context.services.get(EVENTS_SERVICE) === events) options.api?.context.services.delete(EVENTS_SERVICE);
    await ws.close();
    router.close();
  };
  try {
    await app.listen({ host: address.host, port: address.port });
  } catch (cause) {
    await stopUpgrades();
    await app.close();
    throw new AtpError('ATP_HUB_LISTEN', `cannot listen on ${urlHost(address.host, address.port)}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      details: { host: address.host, port: address.port },
    });
  }
  const bound = app.server.address();
  port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  const base = urlHost(address.host, port);
  origins = [`http://${base}`, ...(address.host === '127.0.0.1' || address.host === '::1' ? [`http://localhost:${port}`] : [])];
  let closed = false;

  return {
    host: address.host,
    port,
    httpUrl: `http://${base}`,
    wsUrl: `ws://${base}${wsPath}`,
    pageAvailable,
    pageDir,
    ws,
    app,
    ...(auth === undefined ? {} : { auth }),
    ...(events === undefined ? {} : { events }),
    origins,
    verifierUrl(params: VerifierUrlParams): string {
      const query = new URLSearchParams({ token: params.token });
      if (params.agentId !== undefined) query.set('agent', params.agentId);
      if (params.hub !== undefined) query.set('hub', params.hub);
      return `http://${base}/verifier?${query.toString()}`;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await stopUpgrades();
      await app.close();
    },
  };
}
