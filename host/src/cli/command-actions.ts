/** What `atp-host command exec` does (command.ts defines it and loads this file when it runs). */
import { AtpError } from '@atp/protocol';
import { locationOf } from './config-flag.js';
import type { CliIo } from './program.js';
import { forEachVm } from '../targets/domains.js';
import { execInDomain, exitCodeOf } from '../targets/guest-exec.js';

export interface ExecFlags {
  vm?: string;
  vms?: string;
  configDir?: string;
  timeout?: string;
  json?: boolean;
}

function seconds(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new AtpError('ATP_SCHEMA_INVALID', `--timeout ${JSON.stringify(text)}: expected seconds > 0`, { details: { field: 'timeout', value: text } });
  return n * 1000;
}

export async function execCommand(cmd: string, args: string[], flags: ExecFlags, io: CliIo, setExitCode: (code: number) => void): Promise<void> {
  const deadlineMs = seconds(flags.timeout, 60_000);
  const location = locationOf(flags);
  const { many, results } = await forEachVm(flags, location, (line) => io.err(`command: ${line}\n`), async (spec) => {
    const r = await execInDomain(spec, location, cmd, args, { deadlineMs });
    return { code: exitCodeOf(r), json: r };
  });
  if (flags.json === true) {
    io.out(`${JSON.stringify(many ? results.map((r) => ({ vm: r.vm, result: r.result.json })) : { vm: flags.vm, ...results[0]?.result.json })}\n`);
  } else {
    for (const { vm, result } of results) {
      if (many) io.out(`==> ${vm} (exit ${result.code}) <==\n`);
      io.out(result.json.stdout);
      if (many && result.json.stderr !== '') io.err(`==> ${vm} <==\n`);
      io.err(result.json.stderr);
    }
  }
  setExitCode(Math.max(0, ...results.map((r) => r.result.code)));
}
