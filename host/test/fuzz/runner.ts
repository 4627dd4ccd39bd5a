/**
 * `npm run fuzz` (fuzz/run.ts calls `main`): every fuzz target for a fixed time
 * budget each (`--budget-s N`, default 20; `--target a,b`; `--seed S`). Each
 * target runs in a child process so a parser stuck in a loop is noticed (no
 * progress line for `hang` seconds: the child is killed, a hang is reported
 * with the seed to replay) and so one target's heap is measured on its own.
 * Inside the child, fast-check draws inputs until the budget ends; the first
 * input that breaks the promise (harness.ts `judge`), takes longer than the
 * target's `maxMs`, or leaves heap + array buffers more than `--max-mb` above
 * the start (checked after a GC) is shrunk and saved to fuzz/findings/. The parent prints, per target: inputs
 * tried, rejections by code, findings, the slowest input and the peak memory,
 * and exits 1 when any target has a finding.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { judge, showInput, type FuzzTarget } from './harness.js';
import { FUZZ_TARGETS } from './targets.js';

interface Options {
  budgetS: number;
  targets: string[];
  seed: number;
  maxMb: number;
  hangS: number;
  child?: string;
}

export interface TargetReport {
  target: string;
  tried: number;
  accepted: number;
  rejections: Record<string, number>;
  maxMs: number;
  peakMb: number;
  finding?: { kind: 'crash' | 'hang' | 'memory'; reason: string; file?: string; seed: number; path?: string };
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { budgetS: 20, targets: [], seed: Date.now() % 2 ** 31, maxMb: 256, hangS: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1] ?? '';
    const num = (): number => {
      i++;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a} needs a positive number, got ${JSON.stringify(v)}`);
      return n;
    };
    if (a === '--budget-s') o.budgetS = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--max-mb') o.maxMb = num();
    else if (a === '--hang-s') o.hangS = num();
    else if (a === '--target') {
      o.targets.push(...v.split(',').filter((t) => t !== ''));
      i++;
    } else if (a === '--child') {
      o.child = v;
      i++;
    } else throw new Error(`unknown option ${a} (--budget-s N, --target NAME[,NAME], --seed S, --max-mb MB, --hang-s S)`);
  }
  return o;
}

const memoryMb = (): number => {
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
};

/** The child runs with --expose-gc. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The child: one target for the budget; progress and the report as JSON lines on stdout. */
async function runChild<T>(target: FuzzTarget<T>, o: Options, findingsDir: string): Promise<void> {
  const session = await target.open();
  const report: TargetReport = { target: target.name, tried: 0, accepted: 0, rejections: {}, maxMs: 0, peakMb: 0 };
  const baseMb = memoryMb();
  let failing = false;
  let lastProgress = 0;
  const progress = setInterval(() => console.log(JSON.stringify({ progress: report.tried })), 1000);
  const property = fc.asyncProperty(target.input, async (input) => {
    const started = performance.now();
    const verdict = await judge(target, session, input);
    const ms = performance.now() - started;
    const mb = memoryMb();
    if (!failing) {
      report.tried++;
      report.maxMs = Math.max(report.maxMs, ms);
      report.peakMb = Math.max(report.peakMb, mb);
      if (verdict.kind === 'accepted') report.accepted++;
      if (verdict.kind === 'rejected') for (const c of new Set(verdict.codes)) report.rejections[c] = (report.rejections[c] ?? 0) + 1;
      if (performance.now() - lastProgress > 1000) {
        lastProgress = performance.now();
        console.log(JSON.stringify({ progress: report.tried }));
      }
    }
    // Over the bound: collect garbage and look again, so only memory the input left behind counts.
    const retainedMb = mb - baseMb > o.maxMb ? (collectGarbage(), memoryMb() - baseMb) : 0;
    const problem =
      verdict.kind === 'crash'
        ? `crash: ${verdict.reason}`
        : ms > target.maxMs
          ? `hang: one input took ${ms.toFixed(0)} ms (bound ${target.maxMs} ms)`
          : retainedMb > o.maxMb
            ? `memory: heap + buffers still ${retainedMb.toFixed(0)} MB above the start after a GC (bound ${o.maxMb} MB)`
            : undefined;
    if (problem !== undefined) {
      failing = true;
      throw new Error(problem);
    }
  });
  const details = await fc.check(property, { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: o.budgetS * 1000, markInterruptAsFailure: false, seed: o.seed });
  clearInterval(progress);
  await session.close?.();
  if (details.failed && details.counterexample !== null) {
    const reason = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const kind = reason.startsWith('hang') ? 'hang' : reason.startsWith('memory') ? 'memory' : 'crash';
    mkdirSync(findingsDir, { recursive: true });
    const file = path.join(findingsDir, `${target.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify({ target: target.name, reason, seed: details.seed, path: details.counterexamplePath, counterexample: JSON.parse(showInput(details.counterexample[0])) as unknown }, null, 1)}\n`);
    report.finding = { kind, reason, file, seed: details.seed, ...(details.counterexamplePath === null ? {} : { path: details.counterexamplePath }) };
  }
  console.log(JSON.stringify({ report }));
}

/** The parent: one child per target, a watchdog on its progress lines. */
function runTarget(script: string, name: string, o: Options): Promise<TargetReport> {
  return new Promise((resolve) => {
    const args = [...process.execArgv, '--expose-gc', '--no-warnings', script, '--child', name, '--budget-s', String(o.budgetS), '--seed', String(o.seed), '--max-mb', String(o.maxMb)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let report: TargetReport | undefined;
    let lastTried = 0;
    let timer: NodeJS.Timeout | undefined;
    const hang = { seen: false };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hang.seen = true;
        child.kill('SIGKILL');
      }, o.hangS * 1000);
    };
    arm();
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: { progress?: number; report?: TargetReport };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        console.log(`  [${name}] ${line}`);
        return;
      }
      arm();
      if (msg.progress !== undefined) lastTried = msg.progress;
      if (msg.report !== undefined) report = msg.report;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (report !== undefined) return resolve(report);
      const reason = hang.seen ? `hang: no progress for ${o.hangS} s after ${lastTried} inputs (replay: --target ${name} --seed ${o.seed})` : `crash: the child exited with ${signal ?? `code ${code}`} after ${lastTried} inputs`;
      resolve({ target: name, tried: lastTried, accepted: 0, rejections: {}, maxMs: 0, peakMb: 0, finding: { kind: hang.seen ? 'hang' : 'crash', reason, seed: o.seed } });
    });
  });
}

function printTable(reports: readonly TargetReport[]): void {
  const rows = reports.map((r) => [
    r.target,
    String(r.tried),
    String(r.accepted),
    Object.entries(r.rejections)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c.replace(/^ATP_/, '')}×${n}`)
      .join(' ') || '-',
    r.finding === undefined ? 'none' : `${r.finding.kind.toUpperCase()}: ${r.finding.reason.slice(0, 160)}${r.finding.file === undefined ? '' : ` → ${path.relative(process.cwd(), r.finding.file)}`}`,
    r.maxMs.toFixed(1),
    r.peakMb.toFixed(0),
  ]);
  const head = ['target', 'inputs', 'accepted', 'rejections by code', 'findings', 'max ms/input', 'peak MB (heap+buffers, sampled)'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 3 || i === 4 ? c : c.padEnd(widths[i] ?? 0))).join(' | ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

export async function main(argv: readonly string[], script: string, findingsDir: string): Promise<number> {
  const o = parseArgs(argv);
  if (o.child !== undefined) {
    const target = FUZZ_TARGETS.find((t) => t.name === o.child);
    if (target === undefined) throw new Error(`no fuzz target ${o.child}`);
    await runChild(target, o, findingsDir);
    return 0;
  }
  const known = FUZZ_TARGETS.map((t) => t.name);
  const unknown = o.targets.filter((t) => !known.includes(t));
  if (unknown.length > 0) throw new Error(`unknown target(s) ${unknown.join(', ')}; targets: ${known.join(', ')}`);
  const names = o.targets.length > 0 ? o.targets : known;
  console.log(`fuzz: ${names.length} targets × ${o.budgetS} s, seed ${o.seed}, memory bound ${o.maxMb} MB, hang after ${o.hangS} s without progress`);
  const reports: TargetReport[] = [];
  for (const name of names) {
    const started = Date.now();
    const r = await runTarget(script, name, o);
    console.log(`  ${name}: ${r.tried} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s${r.finding === undefined ? '' : `, ${r.finding.kind}`}`);
    reports.push(r);
  }
  printTable(reports);
  const bad = reports.filter((r) => r.finding !== undefined);
  console.log(bad.length === 0 ? 'fuzz: no findings' : `fuzz: ${bad.length} target(s) with findings`);
  return bad.length === 0 ? 0 : 1;
}
