/**
 * `atp-host serve [--listen ADDR:PORT] [--token T] [--api-token-file F] [--config-dir D] [--suite-dir DIR...]`:
 * an agent hub with the HTTP server in front of it until SIGINT or SIGTERM:
 * the web console (/console/), the HTTP API (/api/v1, its live events at
 * /api/v1/events, OpenAPI at /api/v1/openapi.json and /docs), the web
 * verifier page (/verifier) and the hub's WebSocket (/ws). Runs started
 * through the API are kept in CONFIG_DIR/runs.db (--keep-runs, --keep-days).
 *
 * Binds 127.0.0.1:8470 unless --listen says otherwise (port 0 picks a free one;
 * anything else than loopback gets a warning: no TLS here).
 * The API token (api-token.ts) is never printed: serve says where it is.
 * Without --token a random agent/page token is made (18 bytes, base64url) and
 * printed inside the verifier URL: whoever holds the URL may feed events to
 * the hub, so share it only with the session under test. Prints one line per
 * page or agent that connects or goes away. The command's definition is in
 * serve-command.ts.
 */
import { randomBytes } from 'node:crypto';
import { AtpError } from '@atp/protocol';
import { allRoutes, EventLog, OPENAPI_PUBLIC_ROUTES, startServer, type ApiContext } from '../api/index.js';
import { startEventProducers } from '../api/v1/events/index.js';
import { attachRuns } from '../api/v1/runs/index.js';
import { SUITE_DIRS_SERVICE } from '../api/v1/routes/suites.js';
import { apiToken } from './api-token.js';
import { AgentHub } from '../hub/index.js';
import { DEFAULT_SERVE_AGENT_ID, DEFAULT_SERVE_LISTEN } from './defaults.js';
import type { CliIo } from './program.js';
import { untilSignal } from './until-signal.js';
import { retentionOf } from './runs-actions.js';
import { HOST_VERSION } from './verify-options.js';

export { DEFAULT_SERVE_AGENT_ID, DEFAULT_SERVE_LISTEN } from './defaults.js';
/** API routes that need no token: the OpenAPI document (it holds no secret) and sign-in. */
export const PUBLIC_ROUTES = OPENAPI_PUBLIC_ROUTES;

const isLoopback = (host: string): boolean => host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');

export interface ServeFlags {
  listen?: string;
  suiteDir?: string[];
  apiTokenFile?: string;
  configDir?: string;
  token?: string;
  agentId?: string;
  pageDir?: string;
  keepRuns?: string;
  keepDays?: string;
}

export interface ServeHooks {
  /** Resolves when the server should stop (default: the first SIGINT or SIGTERM). */
  stopped?: () => Promise<void>;
}

export function newServeToken(): string {
  return randomBytes(18).toString('base64url');
}

function checkToken(token: string): string {
  if (token.length === 0 || token.length > 4096 || /\s/.test(token)) {
    throw new AtpError('ATP_SCHEMA_INVALID', '--token expects 1 to 4096 characters without spaces', { details: { field: '--token' } });
  }
  return token;
}

export async function serve(flags: ServeFlags, io: CliIo, hooks: ServeHooks = {}): Promise<void> {
  const token = flags.token === undefined ? newServeToken() : checkToken(flags.token);
  const stopped = (hooks.stopped ?? untilSignal)();
  const location = flags.configDir === undefined ? {} : { configDir: flags.configDir };
  const api = await apiToken({ ...(flags.apiTokenFile === undefined ? {} : { file: flags.apiTokenFile }), location });
  const hub = await AgentHub.create({ auth: { tokens: [token] } });
  const lifetime = new AbortController();
  const events = new EventLog();
  const context: ApiContext = { hub, location, events, log: (line) => io.err(`${line}\n`), services: new Map() };
  if (flags.suiteDir !== undefined && flags.suiteDir.length > 0) context.services.set(SUITE_DIRS_SERVICE, flags.suiteDir);
  const runs = attachRuns(context, { version: HOST_VERSION, ...retentionOf(flags) });
  startEventProducers(context, { signal: lifetime.signal });
  try {
    const server = await startServer({
      hub,
      listen: flags.listen ?? DEFAULT_SERVE_LISTEN,
      ...(flags.pageDir === undefined ? {} : { pageDir: flags.pageDir }),
      api: { token: api.token, context, routes: allRoutes(), publicRoutes: PUBLIC_ROUTES },
    });
    try {
      const agentId = flags.agentId ?? DEFAULT_SERVE_AGENT_ID;
      io.out(`atp-host serve: listening on ${server.httpUrl}\n`);
      io.out(`verifier: ${server.verifierUrl({ token, agentId })}\n`);
      io.out(`hub: ${server.wsUrl}\n`);
      io.out(`api: ${server.httpUrl}/api/v1 (bearer token ${api.created ? 'made and kept' : 'read'} from ${api.source})\n`);
      if (!isLoopback(server.host)) io.err(`atp-host serve: warning: listening on ${server.host} without TLS: the API token and the hub traffic cross the network in clear; put a TLS proxy in front or listen on 127.0.0.1\n`);
      if (!server.pageAvailable) io.err(`atp-host serve: no page in ${server.pageDir}: run \`npm run build:web\` (or pass --page-dir)\n`);
      const watching = watchSessions(hub, io, lifetime.signal);
      await stopped;
      io.out('atp-host serve: stopping\n');
      lifetime.abort();
      await watching;
    } finally {
      await server.close();
    }
  } finally {
    lifetime.abort();
    await runs.close();
    await hub.close();
  }
}

/** One line per connect and disconnect, from the hub's stream. */
async function watchSessions(hub: AgentHub, io: CliIo, signal: AbortSignal): Promise<void> {
  try {
    for await (const item of hub.stream({ match: () => true }, { from: 'now', signal })) {
      if (item.kind === 'connected') io.out(`connected: ${item.agentId} (boot ${item.bootId}, ${item.transport} ${item.remote})\n`);
      else if (item.kind === 'disconnected') io.out(`disconnected: ${item.agentId}${item.reason === null ? '' : ` (${item.reason.code}: ${item.reason.message})`}\n`);
    }
  } catch {
    // The stream ends with an abort error when serve stops.
  }
}
