/**
 * `atp-host verify SUITE --token T` for a version 2 suite (platform steps):
 * the suite names its platform and desk pool (`--platform` / `--pool`
 * override them), so the flags that pick VMs (--lab, --vm, --vms, --qmp,
 * --count, --loop, --duration) do not apply and are refused. Runs the steps
 * through run/platform (runPlatformSuite) with one hub for the whole suite,
 * prints one line per step on stderr, then the steps table and the summary;
 * writes --report files. Ctrl+C stops the suite (steps marked `always: true`
 * still run); exit codes as for v1 runs.
 */
import { randomBytes } from 'node:crypto';
import type { PlatformStepResult, ReportV1 } from '@atp/protocol';
import { effectivePlatform, loadPlatforms } from '../config/platforms-file.js';
import { AgentHub } from '../hub/index.js';
import { formatSummary, formatTable, printable, toJsonReport, writeJsonReport, writeJunitReport } from '../report/index.js';
import { writeHtmlReport } from '../report/html-write.js';
import { runPlatformSuite } from '../run/index.js';
import type { LoadedSuiteV2, PacingFlags } from '../scenario/index.js';
import { platformClient, type InjectorChoice } from '../targets/index.js';
import type { CliIo } from './program.js';
import { HOST_VERSION, parseReportSpecs, verifyUsage } from './verify-options.js';

export interface PlatformSuiteFlags {
  token?: string;
  platform?: string;
  pool?: string;
  configDir?: string;
  concurrent?: string;
  layout?: string;
  report?: string[];
  json?: boolean;
}

/** Flags that pick VMs or rounds: a v2 suite picks its own. */
const NOT_WITH_V2 = ['lab', 'vm', 'vms', 'qmp', 'agent', 'count', 'loop', 'duration', 'exclude', 'limit', 'onFailure', 'stateDir'] as const;

export function platformSuiteFlagProblem(flags: Record<string, unknown>): string | undefined {
  const given = NOT_WITH_V2.filter((f) => flags[f] !== undefined && flags[f] !== false);
  if (given.length > 0) return `a version 2 suite names its platform and pool (target:); drop ${given.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`;
  if (flags['token'] === undefined) return 'a version 2 suite needs --token T (the token the pool\'s guest agents present); from --token-file FILE, --token-stdin or $ATP_TOKEN';
  return undefined;
}

const ms = (d: number): string => (d >= 10_000 ? `${(d / 1000).toFixed(0)} s` : d >= 1000 ? `${(d / 1000).toFixed(1)} s` : `${Math.round(d)} ms`);

export function formatSteps(steps: readonly PlatformStepResult[]): string {
  return formatTable(
    [{ head: 'STEP', right: true }, { head: 'ACTION' }, { head: 'WHAT' }, { head: 'OUTCOME' }, { head: 'TIME', right: true }, { head: 'ERROR' }],
    steps.map((s) => [String(s.step), s.action, s.label, s.outcome, ms(s.durationMs), s.error === undefined ? '' : `${s.error.code}: ${s.error.message.split('\n')[0] ?? ''}`]),
  );
}

export async function verifyPlatformSuite(suite: LoadedSuiteV2, flags: PlatformSuiteFlags & Record<string, unknown>, io: CliIo, pacing: PacingFlags, injector: Partial<InjectorChoice> = {}): Promise<number> {
  const problem = platformSuiteFlagProblem(flags);
  if (problem !== undefined) {
    io.err(`atp-host verify: ${verifyUsage(problem).message}\n`);
    return 2;
  }
  const reports = parseReportSpecs(flags.report ?? []);
  if (flags.pool !== undefined) suite.scenario.target.pool = flags.pool;
  if (flags.layout !== undefined) suite.scenario.target.layout = flags.layout;
  if (flags.concurrent !== undefined) {
    const n = Number(flags.concurrent);
    if (!Number.isInteger(n) || n < 1) {
      io.err(`atp-host verify: --concurrent expects a positive integer, got ${JSON.stringify(flags.concurrent)}\n`);
      return 2;
    }
    suite.scenario.target.concurrency = n;
  }
  const location = flags.configDir === undefined ? {} : { configDir: flags.configDir };
  const platform = effectivePlatform(await loadPlatforms(location), flags.platform ?? suite.scenario.target.platform);
  const client = platformClient(platform);
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    io.err(`\natp-host verify: ${signal}: stopping (cleanup steps still run)\n`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // The pool's agents present --token (the clones share their template's): the hub accepts it.
  const hub = await AgentHub.create({ auth: { tokens: [flags.token ?? randomBytes(16).toString('hex')] } });
  let report: ReportV1;
  let exitCode: number;
  let stepLabels: string[][];
  try {
    ({ report, exitCode, stepLabels } = await runPlatformSuite({
      suite,
      client,
      platform,
      token: flags.token ?? '',
      hub,
      location,
      pacing,
      injector,
      signal: abort.signal,
      version: HOST_VERSION,
      log: (line) => io.err(`verify: ${printable(line)}\n`),
    }));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await hub.close().catch(() => undefined);
    await client.logout().catch(() => undefined);
  }
  for (const spec of reports) {
    if (spec.kind === 'json') await writeJsonReport(report, spec.file);
    else if (spec.kind === 'html') await writeHtmlReport(report, spec.file, { stepLabels });
    else await writeJunitReport(report, spec.file, { stepLabels });
  }
  if (flags.json === true) io.out(toJsonReport(report));
  else io.out(`${formatSteps(report.steps ?? [])}\n${formatSummary(report, { color: process.stdout.isTTY === true && (process.env.NO_COLOR ?? '') === '' })}`);
  return exitCode;
}
