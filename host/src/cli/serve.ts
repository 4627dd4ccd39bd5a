/**
 * `atp-host serve [--listen ADDR:PORT] [--token T] [--agent-id ID] [--page-dir DIR]`:
 * an agent hub with the HTTP server in front of it (the web verifier page at
 * /verifier, the hub's WebSocket at /ws), until SIGINT or SIGTERM.
 *
 * Binds 127.0.0.1:8470 unless --listen says otherwise (port 0 picks a free one).
 * Without --token a random one is made (18 bytes, base64url) and printed inside
 * the verifier URL: whoever holds the URL may feed events to the hub, so share
 * it only with the session under test. Prints one line per page or agent that
 * connects or goes away.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import { startServer } from '../api/index.js';
import { AgentHub } from '../hub/index.js';
import type { CliIo } from './program.js';
import { untilSignal } from './until-signal.js';

export const DEFAULT_SERVE_LISTEN = '127.0.0.1:8470';
export const DEFAULT_SERVE_AGENT_ID = 'web';

interface ServeFlags {
  listen?: string;
  token?: string;
  agentId?: string;
  pageDir?: string;
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
  const hub = await AgentHub.create({ auth: { tokens: [token] } });
  const lifetime = new AbortController();
  try {
    const server = await startServer({ hub, listen: flags.listen ?? DEFAULT_SERVE_LISTEN, ...(flags.pageDir === undefined ? {} : { pageDir: flags.pageDir }) });
    try {
      const agentId = flags.agentId ?? DEFAULT_SERVE_AGENT_ID;
      io.out(`atp-host serve: listening on ${server.httpUrl}\n`);
      io.out(`verifier: ${server.verifierUrl({ token, agentId })}\n`);
      io.out(`hub: ${server.wsUrl}\n`);
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

export function registerServeCommand(program: Command, io: CliIo, hooks: ServeHooks = {}): void {
  program
    .command('serve')
    .description('serve the web verifier page and the agent hub (WebSocket) until Ctrl+C')
    .option('--listen <addr:port>', `where to listen (default ${DEFAULT_SERVE_LISTEN}; port 0 picks a free port)`)
    .option('--token <token>', 'the token pages and agents present (default: a new random one)')
    .option('--agent-id <id>', `the agent id in the printed page URL (default ${DEFAULT_SERVE_AGENT_ID})`)
    .option('--page-dir <dir>', 'folder with the built page (default web-verifier/dist/page)')
    .action((flags: ServeFlags) => serve(flags, io, hooks));
}
