/**
 * `atp-host serve [--listen ADDR:PORT] [--token-file F | --token-stdin | --token T] [--api-token-file F] [--config-dir D] [--suite-dir DIR...]`:
 * an agent hub with the HTTP server in front of it until SIGINT or SIGTERM:
 * the web console (/console/), the HTTP API (/api/v1, its live events at
 * /api/v1/events, OpenAPI at /api/v1/openapi.json and /docs), the web
 * verifier page (/verifier) and the hub's WebSocket (/ws). Runs started
 * through the API are kept in CONFIG_DIR/runs.db (--keep-runs, --keep-days).
 *
 * Binds 127.0.0.1:8470 unless --listen says otherwise (port 0 picks a free one;
 * anything else than loopback gets a warning: no TLS here).
 * The API token (api-token.ts) is never printed: serve says where it is.
 * The agent/page token comes from --token-file (0600), --token-stdin,
 * $ATP_TOKEN or --token (with a warning; secret-source.ts) and is then never
 * printed: the verifier URL shows TOKEN in its place. Without one a random
 * token is made (18 bytes, base64url) and printed inside the verifier URL:
 * whoever holds the URL may feed events to the hub, so share it only with the
 * session under test. Everything serve prints passes the redactor of both
 * tokens, except that one URL. Prints one line per
 * page or agent that connects or goes away. The command's definition is in
 * serve-command.ts.
 */
import { randomBytes } from 'node:crypto';
import { allRoutes, EventLog, OPENAPI_PUBLIC_ROUTES, startServer, type ApiContext } from '../api/index.js';
import { startEventProducers } from '../api/v1/events/index.js';
import { attachRuns } from '../api/v1/runs/index.js';
import { SUITE_DIRS_SERVICE } from '../api/v1/routes/suites.js';
import { apiToken } from './api-token.js';
import { agentTokenOf, redactingIo, type AgentTokenFlags } from './secret-source.js';
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

export interface ServeFlags extends AgentTokenFlags {
  listen?: string;
  suiteDir?: string[];
  apiTokenFile?: string;
  configDir?: string;
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

export async function serve(flags: ServeFlags, rawIo: CliIo, hooks: ServeHooks = {}): Promise<void> {
  const given = await agentTokenOf(flags, { env: process.env, ...(rawIo.input === undefined ? {} : { stdin: rawIo.input }), warn: (line) => rawIo.err(`atp-host serve: ${line}\n`) });
  const token = given ?? newServeToken();
  const stopped = (hooks.stopped ?? untilSignal)();
  const location = flags.configDir === undefined ? {} : { configDir: flags.configDir };
  const api = await apiToken({ ...(flags.apiTokenFile === undefined ? {} : { file: flags.apiTokenFile }), location });
  const io = redactingIo(rawIo, [given, api.token]);
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
      // A made token is handed out in the URL (rawIo: past the redactor); a given one the user already holds.
      if (given === undefined) rawIo.out(`verifier: ${server.verifierUrl({ token, agentId })}\n`);
      else io.out(`verifier: ${server.verifierUrl({ token: 'TOKEN', agentId })} (TOKEN: the agent token you gave)\n`);
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
