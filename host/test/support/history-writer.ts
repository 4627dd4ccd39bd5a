/**
 * A second process writing the run store as the server does (create, status,
 * one event per write, the end with the report), for the concurrency test:
 *   node --import tsx history-writer.ts FILE RUNS STEPS
 * Prints "stored ID" after each run and "done" at the end; any error goes to
 * stderr with a non-zero exit. Halfway through the events of the middle run it
 * prints "half ID" and waits for a line on stdin, so the reader can look at a
 * run caught in the middle of being written whatever the machine's speed.
 */
import { createInterface } from 'node:readline';
import { RunStore } from '../../src/history/index.js';
import { finishedRun } from '../history-fixture.js';

const [file, runsText, stepsText] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: history-writer.ts FILE RUNS STEPS');
const runs = Number(runsText ?? 10);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const store = RunStore.open(file);
for (let i = 0; i < runs; i++) {
  const id = `w-${String(i).padStart(4, '0')}`;
  const run = finishedRun(id, Number(stepsText ?? 50));
  store.create({ id, options: run.options, createdAt: Date.now() });
  store.setStatus(id, 'running', Date.now());
  for (const e of run.events) {
    store.appendEvent(id, e);
    if (i === Math.floor(runs / 2) && e.seq === Math.floor(run.events.length / 2)) {
      process.stdout.write(`half ${id} ${e.seq + 1}\n`);
      await lines.next();
    }
  }
  store.finish(id, { status: 'passed', finishedAt: Date.now(), exitCode: 0, fleet: run.report.fleet, report: run.report, stepLabels: run.stepLabels, progress: run.progress });
  process.stdout.write(`stored ${id}\n`);
}
store.close();
process.stdout.write('done\n');
process.exit(0);
