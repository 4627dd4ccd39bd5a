/**
 * The run store on a real SQLite file (better-sqlite3, WAL): a run's round
 * trip (options, events, report, step labels, progress), the file's mode,
 * paging newest first, id prefixes, interrupted runs, retention by count and
 * age (never an unfinished run; events go with their run), a version 1 file
 * migrated with its rows, a newer file refused untouched, a file that is not
 * a database, and corrupt rows → ATP_HISTORY_CORRUPT naming the run and column.
 */
import { statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { migrate, RunStore, SCHEMA_VERSION } from '../src/history/index.js';
import { finishedRun, LAB_OPTIONS } from './history-fixture.js';

let dir = '';
let file = '';
const opened: RunStore[] = [];
const open = (options: Parameters<typeof RunStore.open>[1] = {}): RunStore => {
  const store = RunStore.open(file, options);
  opened.push(store);
  return store;
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-history-'));
  file = path.join(dir, 'config', 'runs.db');
});

afterEach(async () => {
  for (const s of opened.splice(0)) s.close();
  await rm(dir, { recursive: true, force: true });
});

/** Stores a whole finished run as the run manager does. */
function storeRun(store: RunStore, id: string, createdAt = Date.now()): ReturnType<typeof finishedRun> {
  const run = finishedRun(id);
  store.create({ id, options: run.options, createdAt });
  store.setStatus(id, 'running', createdAt + 10);
  for (const e of run.events) store.appendEvent(id, e);
  store.finish(id, { status: 'passed', finishedAt: createdAt + 20_000, exitCode: 0, fleet: run.report.fleet, report: run.report, stepLabels: run.stepLabels, progress: run.progress });
  return run;
}

function thrown(fn: () => unknown): AtpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AtpError) return error;
    throw error;
  }
  throw new Error('expected an AtpError');
}

describe('run store', () => {
  it('keeps a run with its events, report, labels and progress (file 0600, WAL)', () => {
    const store = open();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const run = storeRun(store, 'run-a', Date.parse('2026-12-07T04:00:00Z'));
    const got = store.get('run-a');
    expect(got).toMatchObject({ id: 'run-a', status: 'passed', createdAt: '2026-12-07T04:00:00.000Z', startedAt: '2026-12-07T04:00:00.010Z', exitCode: 0, hasReport: true, eventCount: run.events.length });
    expect(got?.options).toEqual(LAB_OPTIONS);
    expect(got?.progress).toEqual(run.progress);
    expect(got?.fleet).toEqual(run.report.fleet);
    expect(store.report('run-a')).toEqual({ report: run.report, stepLabels: run.stepLabels });
    expect(store.events('run-a')).toEqual(run.events);
    expect(store.events('run-a', { after: 2, limit: 3 }).map((e) => e.seq)).toEqual([3, 4, 5]);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    expect(store.delete('run-a')).toBe(true);
    expect(store.get('run-a')).toBeUndefined();
    expect(store.events('run-a')).toEqual([]);
    expect(store.delete('run-a')).toBe(false);
  });

  it('lists newest first with paging and a status filter, and resolves id prefixes', () => {
    const store = open();
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    for (let i = 0; i < 5; i++) storeRun(store, `run-${i}-x`, t0 + i * 1000);
    store.create({ id: 'queued-1', options: LAB_OPTIONS, createdAt: t0 + 9000 });
    const page = store.list({ limit: 2, offset: 1 });
    expect(page.total).toBe(6);
    expect(page.runs.map((r) => r.id)).toEqual(['run-4-x', 'run-3-x']);
    expect(store.list({ status: 'queued' }).runs.map((r) => r.id)).toEqual(['queued-1']);
    expect(store.list({ status: 'passed' }).total).toBe(5);
    expect(store.resolveId('run-3')).toBe('run-3-x');
    expect(store.resolveId('queued-1')).toBe('queued-1');
    const ambiguous = thrown(() => store.resolveId('run-'));
    expect(ambiguous.code).toBe('ATP_HISTORY_RUN_UNKNOWN');
    expect(ambiguous.message).toMatch(/names several runs: run-4-x, run-3-x/);
    expect(thrown(() => store.resolveId('nope')).code).toBe('ATP_HISTORY_RUN_UNKNOWN');
    // LIKE wildcards are literal.
    expect(thrown(() => store.resolveId('%')).code).toBe('ATP_HISTORY_RUN_UNKNOWN');
    expect(thrown(() => store.require('nope')).message).toContain('"nope"');
  });

  it('marks runs a previous server left unfinished as interrupted, not those of a live one', () => {
    const store = open();
    storeRun(store, 'done');
    store.create({ id: 'q', options: LAB_OPTIONS, ownerPid: 111 });
    store.create({ id: 'r', options: LAB_OPTIONS, ownerPid: 111 });
    store.setStatus('r', 'running', Date.now());
    store.create({ id: 'c', options: LAB_OPTIONS, status: 'cancelling', ownerPid: 111 });
    store.create({ id: 'other', options: LAB_OPTIONS, status: 'running', ownerPid: 222 });
    const asked: (number | null)[] = [];
    expect(store.markInterrupted((pid) => (asked.push(pid), pid === 111)).sort()).toEqual(['c', 'q', 'r']);
    expect(new Set(asked)).toEqual(new Set([111, 222]));
    expect(store.get('r')).toMatchObject({ status: 'interrupted' });
    expect(store.get('r')?.finishedAt).toBeDefined();
    expect(store.get('other')?.status).toBe('running');
    expect(store.get('done')?.status).toBe('passed');
    expect(store.markInterrupted((pid) => pid === 111)).toEqual([]);
  });

  it('prunes by count and by age, never an unfinished run, events with their run', () => {
    const now = Date.parse('2026-12-07T00:00:00Z');
    const day = 86_400_000;
    const store = open({ retention: { maxRuns: 3, maxAgeDays: 10 } });
    storeRun(store, 'old-1', now - 30 * day);
    store.create({ id: 'old-running', options: LAB_OPTIONS, createdAt: now - 40 * day, status: 'running' });
    for (let i = 0; i < 4; i++) storeRun(store, `new-${i}`, now - (4 - i) * day);
    expect(store.prune(now).sort()).toEqual(['new-0', 'old-1']);
    expect(store.list().runs.map((r) => r.id)).toEqual(['new-3', 'new-2', 'new-1', 'old-running']);
    const db = new Database(file, { readonly: true });
    const orphans = db.prepare("SELECT count(*) AS n FROM run_events WHERE run_id IN ('old-1', 'new-0')").get() as { n: number };
    db.close();
    expect(orphans.n).toBe(0);
    // Age alone; a retention with neither bound keeps everything.
    expect(store.prune(now + 200 * day, {})).toEqual([]);
    expect(store.prune(now + 2.5 * day, { maxAgeDays: 4 }).sort()).toEqual(['new-1', 'new-2']);
  });

  it('migrates a version 1 file with its rows', () => {
    // The file as version 1 wrote it: only the first migration, a run stored with its columns.
    file = path.join(dir, 'v1.db');
    const v1 = new Database(file);
    migrate(v1, file, 1);
    const run = finishedRun('legacy');
    v1.prepare('INSERT INTO runs (id, status, created_at, started_at, finished_at, options, exit_code, fleet, report, step_labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      'legacy', 'passed', 1000, 1001, 2000, JSON.stringify(run.options), 0, JSON.stringify(run.report.fleet), JSON.stringify(run.report), JSON.stringify(run.stepLabels),
    );
    for (const e of run.events) v1.prepare('INSERT INTO run_events (run_id, idx, event) VALUES (?, ?, ?)').run('legacy', e.seq, JSON.stringify(e));
    expect(v1.pragma('user_version', { simple: true })).toBe(1);
    expect(() => v1.prepare('SELECT progress FROM runs').all()).toThrow(/progress/);
    v1.close();

    const store = open();
    const got = store.get('legacy');
    expect(got).toMatchObject({ status: 'passed', hasReport: true, eventCount: run.events.length, finishedAt: '1970-01-01T00:00:02.000Z' });
    expect(got?.progress).toBeUndefined();
    expect(store.report('legacy')).toEqual({ report: run.report, stepLabels: run.stepLabels });
    expect(store.events('legacy')).toEqual(run.events);
    // The new column works on the migrated file.
    store.finish('legacy', { status: 'passed', finishedAt: 2000, exitCode: 0, progress: run.progress });
    expect(store.get('legacy')?.progress).toEqual(run.progress);
    store.close();
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });

  it('refuses a file written by a newer ATP, and a file that is not a database', () => {
    const newer = path.join(dir, 'newer.db');
    const db = new Database(newer);
    db.exec('CREATE TABLE future (x INTEGER)');
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    const error = thrown(() => RunStore.open(newer));
    expect(error.code).toBe('ATP_HISTORY_VERSION');
    expect(error.message).toContain(newer);
    const after = new Database(newer, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 5);
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'runs'").get()).toBeUndefined();
    after.close();

    const junk = path.join(dir, 'junk.db');
    writeFileSync(junk, 'this is not an SQLite database, just text that is long enough to have a header....', { mode: 0o600 });
    const bad = thrown(() => RunStore.open(junk));
    expect(bad.code).toBe('ATP_HISTORY_OPEN');
    expect(bad.message).toContain(junk);
  });

  it('reports a corrupt row as ATP_HISTORY_CORRUPT naming the run and the column', () => {
    const store = open();
    storeRun(store, 'good');
    storeRun(store, 'broken-report');
    storeRun(store, 'broken-event');
    storeRun(store, 'broken-options');
    const raw = new Database(file);
    raw.prepare("UPDATE runs SET report = json_set(report, '$.suites', 7) WHERE id = 'broken-report'").run();
    raw.prepare("UPDATE run_events SET event = '{\"type\": \"run-started\", \"seq\": \"x\"' WHERE run_id = 'broken-event' AND idx = 1").run();
    raw.prepare("UPDATE runs SET options = '{\"suites\": [], \"targets\": {}, \"mystery\": true}' WHERE id = 'broken-options'").run();
    raw.close();

    const report = thrown(() => store.report('broken-report'));
    expect(report.code).toBe('ATP_HISTORY_CORRUPT');
    expect(report.details).toMatchObject({ runId: 'broken-report', column: 'report' });
    expect(report.message).toMatch(/run broken-report: stored report is invalid: .*suites/);

    const event = thrown(() => store.events('broken-event'));
    expect(event.details).toMatchObject({ runId: 'broken-event', column: 'run_events[1]' });
    expect(event.message).toContain('not JSON');

    const options = thrown(() => store.list());
    expect(options.details).toMatchObject({ runId: 'broken-options', column: 'options' });
    expect(options.message).toContain('mystery');

    // The good run still reads.
    expect(store.report('good')?.report.version).toBe(1);
    expect(store.events('good').length).toBeGreaterThan(0);
  });
});
