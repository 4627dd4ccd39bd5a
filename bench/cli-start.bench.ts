/**
 * `npm run bench -- cli-start`: how long `atp-host` takes to start and exit
 * for `--help`, `--version` and `scenario validate scenarios/smoke.yaml`,
 * beside a bare `node -e 0` measured in the same run (the baseline; the goal
 * is each command within 2× of it). Every command is a fresh process of the
 * built binary (host/dist/cli/main.js: run `npx tsc -b` first, as `npm run
 * bench` does), timed from spawn to exit; the four are run in turn, round
 * after round (ATP_BENCH_CLI_RUNS rounds, default 25, after one warm-up
 * round), so a load change on the machine hits all of them alike. Figures:
 * the median and p90 per command, and median ÷ baseline median.
 * ATP_BENCH_CLI_MAIN=FILE times another build of main.js (e.g. one made from
 * an older commit, for a before/after pair); ATP_BENCH_CLI_ANY_EXIT=1 then
 * accepts a non-zero exit (a build from before `--version` existed).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseEnv, nowMs, printTable, quantile, round, type BenchResult } from './support.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.resolve(process.env['ATP_BENCH_CLI_MAIN'] ?? path.join(REPO, 'host/dist/cli/main.js'));
const RUNS = Number(process.env['ATP_BENCH_CLI_RUNS'] ?? 25);
const GOAL = 2;
const ANY_EXIT = process.env['ATP_BENCH_CLI_ANY_EXIT'] === '1';

interface Case {
  name: string;
  args: string[];
}

const CASES: readonly Case[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'atp-host --help', args: [MAIN, '--help'] },
  { name: 'atp-host --version', args: [MAIN, '--version'] },
  { name: 'atp-host scenario validate scenarios/smoke.yaml', args: [MAIN, 'scenario', 'validate', 'scenarios/smoke.yaml'] },
];

/** One process from spawn to exit, in ms; a non-zero exit fails the bench (it would time an error path). */
function timeOnce(c: Case): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(process.execPath, c.args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = nowMs() - t0;
      if (code === 0 || ANY_EXIT) resolve(ms);
      else reject(new Error(`bench cli-start: ${c.name} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

export async function run(): Promise<BenchResult> {
  if (!existsSync(MAIN)) throw new Error(`bench cli-start: ${MAIN} is missing: build with npx tsc -b`);
  const samples = CASES.map(() => [] as number[]);
  for (let round = -1; round < RUNS; round++) {
    for (const [i, c] of CASES.entries()) {
      const ms = await timeOnce(c);
      if (round >= 0) samples[i]?.push(ms);
    }
  }
  const median = (i: number): number => quantile(samples[i] ?? [], 0.5);
  const base = median(0);
  const rows = CASES.map((c, i) => ({
    command: c.name,
    'median ms': round(median(i), 1),
    'p90 ms': round(quantile(samples[i] ?? [], 0.9), 1),
    'min ms': round(Math.min(...(samples[i] ?? [])), 1),
    '× node': round(median(i) / base, 2),
  }));
  printTable(rows);
  const figures = (i: number, key: string): Record<string, number | boolean> => ({
    [`${key}MedianMs`]: round(median(i), 1),
    [`${key}P90Ms`]: round(quantile(samples[i] ?? [], 0.9), 1),
    [`${key}VsNode`]: round(median(i) / base, 2),
    [`${key}WithinGoal`]: median(i) / base <= GOAL,
  });
  return {
    name: 'cli-start',
    metrics: { runs: RUNS, ...figures(1, 'help'), ...figures(2, 'version'), ...figures(3, 'validate') },
    baseline: { what: 'node -e 0, the same node, in the same rounds', nodeMedianMs: round(base, 1), nodeP90Ms: round(quantile(samples[0] ?? [], 0.9), 1), goal: `each command within ${GOAL}× of the baseline median` },
    env: { ...baseEnv(), main: path.relative(REPO, MAIN) || MAIN, ...(ANY_EXIT ? { anyExit: true } : {}) },
  };
}
