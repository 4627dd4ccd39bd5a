/** Shared bench plumbing: the result shape every bench writes, percentiles, a table printer. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results/<name>.json: our figures, the baseline beside them, and the context. */
export interface BenchResult {
  name: string;
  metrics: Record<string, number | boolean | string>;
  baseline: Record<string, number | boolean | string>;
  env?: Record<string, unknown>;
  /** The figures of the run this file held before (writeResult fills it), to compare across changes. */
  previous?: { date?: unknown; metrics: unknown };
}

export interface BenchModule {
  run(): Promise<BenchResult>;
}

export function isBenchModule(value: unknown): value is BenchModule {
  return typeof value === 'object' && value !== null && 'run' in value && typeof value.run === 'function';
}

export async function writeResult(result: BenchResult): Promise<string> {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${result.name}.json`);
  const previous = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as { metrics?: unknown; env?: { date?: unknown } },
    () => undefined,
  );
  const kept = previous?.metrics === undefined ? {} : { previous: { date: previous.env?.date, metrics: previous.metrics } };
  await writeFile(file, `${JSON.stringify({ ...result, ...kept }, null, 2)}\n`);
  return file;
}

export function baseEnv(): Record<string, unknown> {
  return { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Number(l.toFixed(2))), date: new Date().toISOString() };
}

/** The q-quantile (0..1) of `values` by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

export function printTable(rows: Record<string, string | number>[]): void {
  const first = rows[0];
  if (!first) return;
  const cols = Object.keys(first);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(width[i] ?? 0)).join('  ');
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
}

/** A monotonic clock in ms for timing calls. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Runs `op` n times in sequence and returns each call's duration in ms. */
export async function timeEach(n: number, op: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await op();
    samples.push(nowMs() - t0);
  }
  return samples;
}

/** Median and p99 of call durations. */
export const stats = (xs: readonly number[]): { median: number; p99: number } => ({ median: quantile(xs, 0.5), p99: quantile(xs, 0.99) });
