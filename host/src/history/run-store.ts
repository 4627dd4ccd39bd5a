/**
 * The run history: runs, their run events and reports in one SQLite file
 * (CONFIG_DIR/runs.db, mode 0600), shared by `atp-host serve` (which writes)
 * and `atp-host runs` (which reads and deletes), also while both run.
 *
 * Why SQLite through better-sqlite3: an embedded database needs no server to
 * install or run next to a single-host tool, and one file is easy to back up.
 * better-sqlite3 is maintained (v13 for Node 22+), ships prebuilt binaries in
 * its npm package (no compiler or download at install), and is synchronous:
 * each write is one short call, with no callback interleaving between "insert
 * the event" and "publish it", and prepared statements are compiled once. WAL
 * mode lets the CLI read while the server writes; a busy timeout covers the
 * short moments two writers meet.
 *
 * Retention (`Retention`): keep at most `maxRuns` runs and/or only runs younger
 * than `maxAgeDays`; a run that has not ended is never pruned. The caller
 * decides when to prune (the run manager: on start and after each run).
 * Every row read back is validated (rows.ts); write failures are
 * ATP_HISTORY_WRITE naming the run.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ACTIVE_RUN_STATUSES, AtpError, type ApiRunOptions, type ApiVmProgress, type FleetSummary, type ReportV1, type RunEvent, type RunStatus } from '@atp/protocol';
import { migrate } from './migrations.js';
import { decodeEvent, decodeReport, decodeRun, type RunRecord, type RunRow, type StoredReport } from './rows.js';

export const RUNS_DB_FILE = 'runs.db';

export interface Retention {
  /** Keep at most this many runs (the newest). */
  maxRuns?: number;
  /** Keep only runs created less than this many days ago. */
  maxAgeDays?: number;
}

export const DEFAULT_RETENTION: Readonly<Retention> = { maxRuns: 1000, maxAgeDays: 90 };

export interface RunStoreOptions {
  retention?: Retention;
  /** How long a write waits for another process's write to finish (default 5 s). */
  busyTimeoutMs?: number;
}

export interface RunEnd {
  status: RunStatus;
  finishedAt: number;
  exitCode?: number;
  error?: { code: string; message: string };
  fleet?: FleetSummary;
  report?: ReportV1;
  stepLabels?: readonly (readonly string[])[];
  progress?: readonly ApiVmProgress[];
}

const DAY_MS = 86_400_000;
const ACTIVE = ACTIVE_RUN_STATUSES.map((s) => `'${s}'`).join(', ');
const RUN_COLUMNS = `id, status, created_at, started_at, finished_at, options, exit_code, error, fleet, progress,
  report IS NOT NULL AS has_report, (SELECT count(*) FROM run_events e WHERE e.run_id = runs.id) AS event_count`;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** CONFIG_DIR/runs.db, created 0600 in a 0700 folder when missing; an existing file readable by others is made 0600. */
function prepareFile(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
}

export class RunStore {
  readonly retention: Retention;
  private readonly db: Database.Database;
  private readonly statements;

  private constructor(
    readonly file: string,
    db: Database.Database,
    options: RunStoreOptions,
  ) {
    this.db = db;
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.statements = {
      insert: db.prepare('INSERT INTO runs (id, status, created_at, options, owner_pid) VALUES (@id, @status, @createdAt, @options, @ownerPid)'),
      setStatus: db.prepare('UPDATE runs SET status = @status, started_at = coalesce(@startedAt, started_at) WHERE id = @id'),
      finish: db.prepare(`UPDATE runs SET status = @status, finished_at = @finishedAt, exit_code = @exitCode, error = @error, fleet = @fleet,
        report = @report, step_labels = @stepLabels, progress = @progress WHERE id = @id`),
      event: db.prepare('INSERT INTO run_events (run_id, idx, event) VALUES (?, ?, ?)'),
      get: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
      list: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE (@status IS NULL OR status = @status) ORDER BY created_at DESC, rowid DESC LIMIT @limit OFFSET @offset`),
      count: db.prepare('SELECT count(*) AS n FROM runs WHERE (@status IS NULL OR status = @status)'),
      prefix: db.prepare("SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY created_at DESC LIMIT 6"),
      report: db.prepare('SELECT report, step_labels FROM runs WHERE id = ?'),
      events: db.prepare('SELECT idx, event FROM run_events WHERE run_id = ? AND idx > ? ORDER BY idx LIMIT ?'),
      delete: db.prepare('DELETE FROM runs WHERE id = ?'),
      active: db.prepare(`SELECT id, owner_pid FROM runs WHERE status IN (${ACTIVE})`),
      interrupt: db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = @now WHERE id = @id AND status IN (${ACTIVE})`),
      prune: db.prepare(`DELETE FROM runs WHERE status NOT IN (${ACTIVE}) AND (created_at < @cutoff
        OR (@keep >= 0 AND id IN (SELECT id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET @keep))) RETURNING id`),
    };
  }

  /** Opens (creating and migrating as needed) the store in `file`. */
  static open(file: string, options: RunStoreOptions = {}): RunStore {
    let db: Database.Database | undefined;
    try {
      prepareFile(file);
      db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, file);
      return new RunStore(file, db, options);
    } catch (error) {
      db?.close();
      if (error instanceof AtpError) throw error;
      throw new AtpError('ATP_HISTORY_OPEN', `${file}: cannot open the run history: ${message(error)}`, { cause: error, details: { file } });
    }
  }

  /** The store of a config directory: CONFIG_DIR/runs.db. */
  static fileIn(configDir: string): string {
    return path.join(configDir, RUNS_DB_FILE);
  }

  /** Records a new run, owned by this process (`ownerPid`) unless told otherwise. */
  create(run: { id: string; options: ApiRunOptions; createdAt?: number; status?: RunStatus; ownerPid?: number }): void {
    this.write(run.id, 'recording the new run', () =>
      this.statements.insert.run({ id: run.id, status: run.status ?? 'queued', createdAt: run.createdAt ?? Date.now(), options: JSON.stringify(run.options), ownerPid: run.ownerPid ?? process.pid }),
    );
  }

  setStatus(id: string, status: RunStatus, startedAt?: number): void {
    this.write(id, `setting status ${status}`, () => this.statements.setStatus.run({ id, status, startedAt: startedAt ?? null }));
  }

  /** Stores one run event; its index within the run is its seq. */
  appendEvent(id: string, event: RunEvent): void {
    this.write(id, `storing event ${event.seq}`, () => this.statements.event.run(id, event.seq, JSON.stringify(event)));
  }

  /** Records how a run ended, with its report, in one transaction. */
  finish(id: string, end: RunEnd): void {
    const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
    this.write(id, 'storing the end of the run', () =>
      this.statements.finish.run({
        id,
        status: end.status,
        finishedAt: end.finishedAt,
        exitCode: end.exitCode ?? null,
        error: json(end.error),
        fleet: json(end.fleet),
        report: json(end.report),
        stepLabels: json(end.stepLabels),
        progress: json(end.progress),
      }),
    );
  }

  get(id: string): RunRecord | undefined {
    const row = this.statements.get.get(id) as RunRow | undefined;
    return row === undefined ? undefined : decodeRun(row, this.file);
  }

  /** The run, or ATP_HISTORY_RUN_UNKNOWN naming the id. */
  require(id: string): RunRecord {
    const run = this.get(id);
    if (run === undefined) throw new AtpError('ATP_HISTORY_RUN_UNKNOWN', `no run ${JSON.stringify(id)} in the run history`, { details: { runId: id } });
    return run;
  }

  /** A full id, or a prefix of exactly one run's id (CLI convenience). */
  resolveId(idOrPrefix: string): string {
    if (this.statements.get.get(idOrPrefix) !== undefined) return idOrPrefix;
    const like = `${idOrPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const ids = (this.statements.prefix.all(like) as { id: string }[]).map((r) => r.id);
    if (ids.length === 1 && ids[0] !== undefined) return ids[0];
    if (ids.length === 0) throw new AtpError('ATP_HISTORY_RUN_UNKNOWN', `no run ${JSON.stringify(idOrPrefix)} in the run history (${this.file})`, { details: { runId: idOrPrefix } });
    throw new AtpError('ATP_HISTORY_RUN_UNKNOWN', `${JSON.stringify(idOrPrefix)} names several runs: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}; give more of the id`, {
      details: { runId: idOrPrefix, matches: ids.slice(0, 5) },
    });
  }

  /** Newest first. */
  list(query: { limit?: number; offset?: number; status?: RunStatus } = {}): { runs: RunRecord[]; total: number } {
    const status = query.status ?? null;
    const rows = this.statements.list.all({ status, limit: query.limit ?? 100, offset: query.offset ?? 0 }) as RunRow[];
    const total = (this.statements.count.get({ status }) as { n: number }).n;
    return { runs: rows.map((r) => decodeRun(r, this.file)), total };
  }

  /** The stored report, or undefined while the run has none. */
  report(id: string): StoredReport | undefined {
    const row = this.statements.report.get(id) as { report: string | null; step_labels: string | null } | undefined;
    if (row === undefined || row.report === null) return undefined;
    return decodeReport(id, row.report, row.step_labels, this.file);
  }

  /** Run events with seq > after, in order, at most `limit`. */
  events(id: string, query: { after?: number; limit?: number } = {}): RunEvent[] {
    const rows = this.statements.events.all(id, query.after ?? -1, query.limit ?? 100_000) as { idx: number; event: string }[];
    return rows.map((r) => decodeEvent(id, r.idx, r.event, this.file));
  }

  /** Deletes a run and its events; false when there was none. The caller checks that it has ended. */
  delete(id: string): boolean {
    return this.write(id, 'deleting the run', () => this.statements.delete.run(id).changes > 0);
  }

  /**
   * Runs left queued or running by a server that is gone are marked
   * interrupted; returns their ids. `ownerGone(pid)` says whether the process
   * that ran one has ended (another server on the same file keeps its runs).
   */
  markInterrupted(ownerGone: (pid: number | null) => boolean, now = Date.now()): string[] {
    const mark = this.db.transaction(() => {
      const gone = (this.statements.active.all() as { id: string; owner_pid: number | null }[]).filter((r) => ownerGone(r.owner_pid));
      for (const r of gone) this.statements.interrupt.run({ id: r.id, now });
      return gone.map((r) => r.id);
    });
    return this.write('(all)', 'marking interrupted runs', () => mark.immediate());
  }

  /** Applies the retention; returns the ids of the runs deleted. */
  prune(now = Date.now(), retention: Retention = this.retention): string[] {
    const cutoff = retention.maxAgeDays === undefined ? Number.MIN_SAFE_INTEGER : now - retention.maxAgeDays * DAY_MS;
    const keep = retention.maxRuns ?? -1;
    return this.write('(all)', 'pruning old runs', () => (this.statements.prune.all({ cutoff, keep }) as { id: string }[]).map((r) => r.id));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private write<T>(runId: string, what: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof AtpError) throw error;
      throw new AtpError('ATP_HISTORY_WRITE', `${this.file}: run ${runId}: ${what} failed: ${message(error)}`, { cause: error, details: { file: this.file, runId } });
    }
  }
}
