/**
 * Helpers for the runs API tests: the areas' API rig (a real server with the
 * API on, a config dir of the test's choosing) with a RunManager attached as
 * `atp-host serve` attaches it (lab VMs from the shared lab cache, generous
 * boot deadlines), polling a run to a state, and `atp-host runs` run as a
 * process (node + tsx on the CLI's sources).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ApiRunDetail } from '@atp/protocol';
import { attachRuns, type RunManager } from '../src/api/v1/runs/index.js';
import { defaultCacheDir } from '../src/lab/paths.js';
import { explain, startApiRig, type ApiRig } from './api-areas-support.js';

const repoScenarios = fileURLToPath(new URL('../../scenarios', import.meta.url));
const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

export interface RunsRig extends ApiRig {
  runs: RunManager;
}

/** A server on `configDir` with runs attached; suites are looked up in the repository's scenarios/ and `extraSuiteDirs`. */
export async function startRunsRig(configDir: string, extraSuiteDirs: readonly string[] = []): Promise<RunsRig> {
  const rig = await startApiRig({ configDir });
  const runs = attachRuns(rig.context, { version: '0.0.0-test', suiteDirs: [repoScenarios, ...extraSuiteDirs], lab: { cacheDir: defaultCacheDir(), readyTimeoutMs: 300_000 } });
  return {
    ...rig,
    runs,
    async close() {
      await runs.close();
      await rig.close();
    },
  };
}

/** Polls GET /api/v1/runs/:id until `done` says so; fails naming `what` and the last detail. */
export async function pollRun(rig: ApiRig, id: string, done: (detail: ApiRunDetail) => boolean, what: string, timeoutMs: number): Promise<ApiRunDetail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await rig.call('GET', `/api/v1/runs/${id}`);
    if (answer.status !== 200) throw new Error(`GET run ${id}: ${explain(answer)}`);
    const detail = answer.json as ApiRunDetail;
    if (done(detail)) return detail;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last detail: ${answer.text.slice(0, 3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** `atp-host ARGS` as a process. */
export function runCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** Live QEMU pids the run's log named ("… (pid N) …"); a zombie counts as gone. */
export function loggedPids(lines: readonly string[]): number[] {
  return [...new Set(lines.flatMap((l) => [...l.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]))))];
}
