/** The definition of `atp-host serve` (serve.ts runs it and is loaded only then). */
import type { Command } from 'commander';
import { DEFAULT_SERVE_AGENT_ID, DEFAULT_SERVE_LISTEN } from './defaults.js';
import type { CliIo } from './program.js';
import type { ServeFlags, ServeHooks } from './serve.js';

export function registerServeCommand(program: Command, io: CliIo, hooks: ServeHooks = {}): void {
  program
    .command('serve')
    .description('serve the web verifier page and the agent hub (WebSocket) until Ctrl+C')
    .option('--listen <addr:port>', `where to listen (default ${DEFAULT_SERVE_LISTEN}; port 0 picks a free port)`)
    .option('--token-file <file>', 'the token pages and agents present, from a file (mode 0600, one line); or --token-stdin, or $ATP_TOKEN (default: a new random one, printed in the page URL)')
    .option('--token-stdin', 'read that token from the first line of standard input')
    .option('--token <token>', 'that token on the command line (visible in ps: prefer --token-file, --token-stdin or $ATP_TOKEN)')
    .option('--agent-id <id>', `the agent id in the printed page URL (default ${DEFAULT_SERVE_AGENT_ID})`)
    .option('--page-dir <dir>', 'folder with the built page (default web-verifier/dist/page)')
    .option('--api-token-file <file>', 'the HTTP API bearer token, a 0600 file (default: $ATP_API_TOKEN, else CONFIG_DIR/api-token, made on first use)')
    .option('--suite-dir <dir...>', 'where the API and the console find suites (default the scenarios/ folder of this checkout)')
    .option('--config-dir <dir>', 'config directory (hosts.yaml, platforms.yaml, api-token, the run history)')
    .option('--keep-runs <n>', 'the run history (CONFIG_DIR/runs.db) keeps at most this many runs (default 1000)')
    .option('--keep-days <days>', 'the run history keeps runs younger than this (default 90)')
    .action(async (flags: ServeFlags) => (await import('./serve.js')).serve(flags, io, hooks));
}
