/**
 * The `atp-agent` command line (commander): run, devices, selftest, --version.
 * The token: --token-file FILE (0600 on Linux), --token-stdin (or
 * --token-file -), ATP_AGENT_TOKEN(_FILE) or the config file; --token works
 * but logs a warning (every user of the guest sees it in ps).
 */
import { Command, Option } from 'commander';
import { AtpError } from '@atp/protocol';
import { SETTINGS } from '../config-schema.js';
import { loadAgentConfig } from '../config.js';
import { STDIN_TOKEN_FILE, readTokenLine } from '../config-token.js';
import type { FlagValues } from '../config.js';
import { AGENT_VERSION } from '../version.js';
import { runAgent } from './agent.js';
import { devicesCommand } from './devices.js';
import { createJsonLogger } from './log.js';
import { SELFTEST_CAPTURES, runSelftest } from './selftest.js';
import type { SelftestCapture } from './selftest.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let code = 0;
  const log = createJsonLogger('info');
  const program = new Command('atp-agent')
    .description('ATP guest agent: reports the input events this guest observed to the ATP host')
    .version(AGENT_VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (text) => void process.stderr.write(text) });

  const run = program.command('run').description('connect to the host and stream observed input events').option('-c, --config <file>', 'config file (YAML or JSON); also ATP_AGENT_CONFIG');
  for (const s of SETTINGS) {
    if (s.kind === 'bool') {
      run.addOption(new Option(`--${s.flag}`, `${s.description} [${s.env}]`));
      run.addOption(new Option(`--no-${s.flag}`).hideHelp());
    } else if (s.kind === 'list') {
      run.addOption(new Option(`--${s.flag} <value>`, `${s.description}; repeatable [${s.env}]`).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]));
    } else {
      run.addOption(new Option(`--${s.flag} <value>`, `${s.description} [${s.env}]`));
    }
  }
  run.addOption(new Option('--token-stdin', 'read the token from the first line of standard input (same as --token-file -)'));
  run.action(async (opts: Record<string, unknown>) => {
    let config;
    try {
      config = await loadAgentConfig({ flags: toFlagValues(opts), env: process.env });
    } catch (error) {
      log.error('invalid configuration', errorFields(error));
      code = 2;
      return;
    }
    log.level = config.logLevel;
    if (config.sources.token === 'flag') log.warn(TOKEN_FLAG_WARNING, { field: '--token' });
    code = await runAgent(config, { logger: log });
  });

  program
    .command('devices')
    .description('list the input devices the kernel reports')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await devicesCommand(opts, (text) => void process.stdout.write(text));
    });

  program
    .command('selftest')
    .description('load the capture backend, connect to the hub and complete a handshake; prints one line')
    .requiredOption('--hub <url>', 'tcp://HOST:PORT, ws://HOST:PORT/PATH or wss://…')
    .option('--token <token>', 'hub token (default: ATP_AGENT_TOKEN); ps shows it: prefer --token-stdin or the variable')
    .option('--token-stdin', 'read the hub token from the first line of standard input')
    .option('--agent-id <id>', 'agent id in the hello (default: <hostname>.selftest)')
    .addOption(new Option('--capture <backend>', 'capture backend to check').choices(SELFTEST_CAPTURES).default('auto'))
    .option('--timeout-ms <ms>', 'connect and welcome timeout', '10000')
    .action(async (opts: { hub: string; token?: string; tokenStdin?: boolean; agentId?: string; capture: SelftestCapture; timeoutMs: string }) => {
      let token = opts.token ?? process.env['ATP_AGENT_TOKEN'];
      if (opts.tokenStdin === true) {
        try {
          token = await readTokenLine(process.stdin, '--token-stdin');
        } catch (error) {
          process.stdout.write(`fail: ${error instanceof Error ? error.message : String(error)}\n`);
          code = 2;
          return;
        }
      } else if (opts.token !== undefined) log.warn(TOKEN_FLAG_WARNING, { field: '--token' });
      const timeoutMs = Number(opts.timeoutMs);
      if (token === undefined || token === '' || !(timeoutMs > 0)) {
        process.stdout.write(`fail: ${token === undefined || token === '' ? 'a token is required (--token or ATP_AGENT_TOKEN)' : '--timeout-ms must be a positive number'}\n`);
        code = 2;
        return;
      }
      const result = await runSelftest({ hub: opts.hub, token, capture: opts.capture, timeoutMs, ...(opts.agentId === undefined ? {} : { agentId: opts.agentId }) });
      process.stdout.write(`${result.line}\n`);
      code = result.ok ? 0 : 1;
    });

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    const commanderCode = (error as { code?: unknown }).code;
    if (commanderCode === 'commander.version' || commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.help') return 0;
    if (typeof commanderCode === 'string' && commanderCode.startsWith('commander.')) return 2;
    log.error('atp-agent failed', errorFields(error));
    return 1;
  }
  return code;
}

const TOKEN_FLAG_WARNING = 'the token is on the command line, where every user of this guest sees it (ps); use --token-file FILE (mode 0600), --token-stdin or ATP_AGENT_TOKEN_FILE';

function toFlagValues(opts: Record<string, unknown>): FlagValues {
  const flags: FlagValues = {};
  if (opts['tokenStdin'] === true) {
    if (typeof opts['tokenFile'] === 'string' && opts['tokenFile'] !== STDIN_TOKEN_FILE) throw new AtpError('ATP_AGENT_CONFIG', 'command line: give --token-file FILE or --token-stdin, not both', { details: { source: 'command line', field: 'tokenFile' } });
    opts['tokenFile'] = STDIN_TOKEN_FILE;
  }
  if (typeof opts['config'] === 'string') flags.config = opts['config'];
  for (const s of SETTINGS) {
    // commander camel-cases flags: --agent-id → agentId, --device → device.
    const value = opts[s.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (typeof value === 'string' || typeof value === 'boolean' || Array.isArray(value)) flags[s.key] = value as string | boolean | string[];
  }
  return flags;
}

function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof AtpError) return { code: error.code, error: error.message, ...error.details };
  return { error: error instanceof Error ? error.message : String(error) };
}
