/**
 * Helpers for the API areas' tests (hosts, VMs, input, exec, suites, agents,
 * platforms, security): a real server (`startServer`) with the API on, its
 * own hub (agents' token separate from the API token), a config dir of the
 * test's choosing, every server log line collected; `call` sends one JSON
 * request with the bearer token (or other headers) and returns the status,
 * headers and parsed body.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { startServer, type ApiServer } from '../src/api/server.js';
import { EventLog } from '../src/api/v1/event-log.js';
import type { ApiContext } from '../src/api/v1/context.js';
import { allRoutes } from '../src/api/v1/routes/index.js';
import { AgentHub } from '../src/hub/index.js';

export interface ApiRig {
  server: ApiServer;
  hub: AgentHub;
  context: ApiContext;
  /** The API's bearer token. */
  token: string;
  /** The token agents present to the hub. */
  hubToken: string;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The server's own origin (for Origin headers). */
  origin: string;
  /** Every line the server logged. */
  lines: string[];
  call(method: string, apiPath: string, options?: CallOptions): Promise<ApiAnswer>;
  close(): Promise<void>;
}

export interface CallOptions {
  /** A JSON value (serialised) or raw text (sent as it is). */
  body?: unknown;
  rawBody?: string;
  /** Extra or replacing headers; `authorization: null` sends none. */
  headers?: Record<string, string | null>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** The `error` of an error body, typed loosely for assertions. */
export const errorOf = (a: ApiAnswer): { code?: string; message?: string; details?: Record<string, unknown> } => (a.json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error ?? {};

export async function startApiRig(options: { configDir: string; services?: Map<string, unknown>; hub?: AgentHub }): Promise<ApiRig> {
  const token = randomBytes(24).toString('base64url');
  const hubToken = randomBytes(16).toString('hex');
  const hub = options.hub ?? (await AgentHub.create({ auth: { tokens: [hubToken] } }));
  const lines: string[] = [];
  const context: ApiContext = { hub, location: { configDir: options.configDir }, events: new EventLog(), log: (line) => lines.push(line), services: options.services ?? new Map() };
  const server = await startServer({ hub, pageDir: path.join(os.tmpdir(), 'atp-no-such-page'), api: { token, context, routes: allRoutes() } });
  const url = server.httpUrl;
  const call = async (method: string, apiPath: string, o: CallOptions = {}): Promise<ApiAnswer> => {
    const payload = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    const wanted: Record<string, string | null> = { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...o.headers };
    const headers = Object.fromEntries(Object.entries(wanted).filter((e): e is [string, string] => e[1] !== null));
    const response = await fetch(`${url}${apiPath}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  };
  return {
    server,
    hub,
    context,
    token,
    hubToken,
    url,
    origin: server.origins[0] ?? '',
    lines,
    call,
    async close() {
      await server.close();
      if (options.hub === undefined) await hub.close();
    },
  };
}

/** A description of an answer for assertion messages (with the server's last log lines, for a 500). */
export const explain = (a: ApiAnswer, rig?: Pick<ApiRig, 'lines'>): string => `HTTP ${a.status}: ${a.text.slice(0, 2000)}${rig === undefined || rig.lines.length === 0 ? '' : `\nserver log:\n${rig.lines.slice(-5).join('\n')}`}`;
