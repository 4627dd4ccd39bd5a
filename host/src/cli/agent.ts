/**
 * `atp-host agent build [--target linux-x64,linux-arm64,win-x64] [--out DIR]`:
 * builds the single-file guest agents by running the repository's
 * `npm run package:agent` (guest-agent/packaging/cli.ts). The host may not
 * import the guest agent (lint layering), so this spawns npm with an argument
 * array in the ATP checkout this module lives in; signing still comes from
 * ATP_SIGN_PKCS12 / ATP_SIGN_PASSWORD in the environment, as for npm directly.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtpError } from '@atp/protocol';
import { findExecutable, prerequisiteError } from '../lab/prereqs.js';
import type { CliIo } from './program.js';

/** Target names as the packaging CLI takes them (it checks each against its own list). */
const TARGET_LIST = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:,[a-z0-9]+(?:-[a-z0-9]+)*)*$/;

/** The ATP checkout holding this module (a folder with package.json and guest-agent/packaging/cli.ts). */
export function findRepoRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'guest-agent', 'packaging', 'cli.ts'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The npm arguments for a build; --flag=value so a value can never be read as a flag. */
export function packageAgentArgs(targets: string, outDir: string | undefined): string[] {
  if (!TARGET_LIST.test(targets)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `--target expects a comma-separated list such as linux-x64,win-x64, got ${JSON.stringify(targets)}`, { details: { field: '--target' } });
  }
  return ['run', '--silent', 'package:agent', '--', `--target=${targets}`, ...(outDir === undefined ? [] : [`--out=${path.resolve(outDir)}`])];
}

function runNpm(npm: string, args: readonly string[], cwd: string, io: CliIo): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(npm, [...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => io.out(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => io.err(d));
    child.once('error', (cause) => reject(new AtpError('ATP_PACKAGING_BUILD', `cannot run ${npm}: ${cause.message}`, { cause })));
    child.once('close', (code) => resolve(code));
  });
}

export interface AgentBuildFlags {
  target: string;
  out?: string;
}

/** `atp-host agent build` (agent-command.ts defines it). */
export async function buildAgents(flags: AgentBuildFlags, io: CliIo): Promise<void> {
  const args = packageAgentArgs(flags.target, flags.out);
  const repo = findRepoRoot();
  if (repo === undefined) throw prerequisiteError([{ what: 'an ATP checkout (guest-agent/packaging)', hint: 'run atp-host from the ATP repository, or use `npm run package:agent` there' }]);
  const npm = findExecutable('npm');
  if (npm === undefined) throw prerequisiteError([{ what: 'npm', debianPackage: 'npm' }]);
  const code = await runNpm(npm, args, repo, io);
  if (code !== 0) throw new AtpError('ATP_PACKAGING_BUILD', `npm run package:agent failed (exit ${code ?? 'signal'})`, { details: { exitCode: code } });
}
