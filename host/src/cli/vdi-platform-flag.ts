/**
 * What every `atp-host vdi …` platform command shares in its definition: the
 * flags (--platform NAME, --config-dir, --json), and the printers the actions
 * use alike. The platform they resolve to and its client are in
 * vdi-platform-client.ts. Commands print a table on stdout, or with --json one
 * JSON object `{ platform, … }`.
 */
import type { Command } from 'commander';
import { withConfigDir } from './config-flag.js';
import type { CliIo } from './program.js';

export interface PlatformFlags {
  platform?: string;
  configDir?: string;
  json?: boolean;
}

/** Adds --platform, --config-dir and --json to a vdi command. */
export function withPlatformFlags(cmd: Command): Command {
  return withConfigDir(cmd)
    .option('--platform <name>', 'the platforms.yaml entry (default: the only one)')
    .option('--json', 'print JSON instead of a table');
}

export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Seconds with one decimal, for progress lines and tables. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
