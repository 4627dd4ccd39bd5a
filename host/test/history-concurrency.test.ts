/**
 * The run store shared by two processes, as `atp-host serve` (writing) and
 * `atp-host runs` (reading, deleting) share CONFIG_DIR/runs.db: while a child
 * process stores runs event by event, this process reads the history over and
 * over and deletes finished runs. Every read is a consistent snapshot (a
 * finished run has its report and all its events; a running one a gapless
 * prefix of them), no read or write fails on a lock, and the writer finishes.
 * The writer stops halfway through one run until this side has looked at it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RunStore } from '../src/history/index.js';
import { finishedRun } from './history-fixture.js';

const writer = fileURLToPath(new URL('./support/history-writer.ts', import.meta.url));
const RUNS = 30;
const STEPS = 40;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-history-cc-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('reads consistent snapshots and deletes while another process writes', async () => {
  const file = path.join(dir, 'runs.db');
  const store = RunStore.open(file);
  const fullEvents = finishedRun('x', STEPS).events.length;
  const child = spawn(process.execPath, ['--import', 'tsx', writer, file, String(RUNS), String(STEPS)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let half: { id: string; events: number } | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const m = /^half (\S+) (\d+)$/m.exec(out);
    if (m !== null && half === undefined) half = { id: m[1] ?? '', events: Number(m[2]) };
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));

  let reads = 0;
  let sawPartial = false;
  let resumed = false;
  const deleted = new Set<string>();
  const deadline = Date.now() + 240_000;
  while (running && Date.now() < deadline) {
    for (const run of store.list({ limit: 1000 }).runs) {
      const seqs = store.events(run.id).map((e) => e.seq);
      expect(seqs, `events of ${run.id} are a gapless prefix`).toEqual(seqs.map((_, i) => i));
      if (run.status === 'passed') {
        expect(seqs.length, `${run.id} finished with every event`).toBe(fullEvents);
        expect(store.report(run.id)?.report.suites.length, `${run.id} has its report`).toBe(1);
        expect(run.progress?.[0]?.phase).toBe('passed');
        // Delete every other finished run while the writer goes on (a second writer).
        if (Number(run.id.slice(2)) % 2 === 0 && store.delete(run.id)) deleted.add(run.id);
      } else {
        expect(run.status).toMatch(/^(queued|running)$/);
        if (seqs.length > 0 && seqs.length < fullEvents) sawPartial = true;
      }
      reads++;
    }
    if (half !== undefined && !resumed) {
      // The writer is paused inside a run: it reads back as running, with exactly the events stored so far.
      const paused = store.get(half.id);
      expect(paused).toMatchObject({ status: 'running', eventCount: half.events, hasReport: false });
      expect(store.events(half.id).map((e) => e.seq)).toEqual(Array.from({ length: half.events }, (_, i) => i));
      expect(store.report(half.id)).toBeUndefined();
      sawPartial = true;
      resumed = true;
      child.stdin.write('go\n');
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const code = await exited;
  expect(code, `writer failed: ${err}`).toBe(0);
  expect(out.trim().split('\n').at(-1)).toBe('done');
  expect(reads).toBeGreaterThan(0);
  expect(sawPartial, 'the paused run was read in the middle of being written').toBe(true);
  // Everything the writer stored is there, but for what this side deleted.
  const left = store.list({ limit: 1000 }).runs;
  const odd = Array.from({ length: RUNS }, (_, i) => `w-${String(i).padStart(4, '0')}`).filter((id) => !deleted.has(id));
  expect(left.map((r) => r.id).sort()).toEqual(odd.sort());
  for (const run of left) expect(run.eventCount).toBe(fullEvents);
  store.close();
}, 300_000);
