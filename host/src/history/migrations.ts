/**
 * The run store's schema, as an ordered list of migrations. The database's
 * `PRAGMA user_version` is the number of migrations applied; opening a store
 * applies the missing ones, each in one IMMEDIATE transaction that re-reads the
 * version first (two processes opening an old file at once do not both
 * migrate). A file whose version is above the last migration was written by a
 * newer ATP and is refused (ATP_HISTORY_VERSION) rather than misread.
 * Migrations are never edited once released; a change of schema appends one.
 *
 * Tables (times are epoch milliseconds, JSON columns are validated with the
 * @atp/protocol schemas when read back: rows.ts):
 *   runs        id TEXT PRIMARY KEY, status, created_at, started_at,
 *               finished_at, options (the request without its token),
 *               exit_code, error ({code,message}), fleet (FleetSummary),
 *               report (ReportV1), step_labels (string[][] for JUnit),
 *               progress (per-VM progress at the end; version 2),
 *               owner_pid (the server process running it; version 2)
 *   run_events  (run_id, idx) PRIMARY KEY, event (one RunEvent; idx is its seq),
 *               deleted with their run (ON DELETE CASCADE)
 */
import { AtpError } from '@atp/protocol';
import type BetterSqlite3 from 'better-sqlite3';

export interface Migration {
  /** The user_version after this migration. */
  version: number;
  what: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    what: 'runs and their run events',
    sql: `
      CREATE TABLE runs (
        id          TEXT PRIMARY KEY NOT NULL,
        status      TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        started_at  INTEGER,
        finished_at INTEGER,
        options     TEXT NOT NULL,
        exit_code   INTEGER,
        error       TEXT,
        fleet       TEXT,
        report      TEXT,
        step_labels TEXT
      );
      CREATE INDEX runs_by_created ON runs (created_at DESC);
      CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        idx    INTEGER NOT NULL,
        event  TEXT NOT NULL,
        PRIMARY KEY (run_id, idx)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    what: 'per-VM progress kept with a finished run; the process that runs a run; lookups by status',
    sql: `
      ALTER TABLE runs ADD COLUMN progress TEXT;
      ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
      CREATE INDEX runs_by_status ON runs (status);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

const userVersion = (db: BetterSqlite3.Database): number => Number(db.pragma('user_version', { simple: true }));

/** Brings the database to SCHEMA_VERSION (or up to `target`, for tests of old files); returns the versions applied. */
export function migrate(db: BetterSqlite3.Database, file: string, target = SCHEMA_VERSION): number[] {
  const found = userVersion(db);
  if (found > SCHEMA_VERSION) {
    throw new AtpError('ATP_HISTORY_VERSION', `${file}: the run history has schema version ${found}, newer than this atp-host knows (${SCHEMA_VERSION}): it was written by a newer ATP`, {
      details: { file, found, known: SCHEMA_VERSION },
    });
  }
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    if (migration.version > target) break;
    const step = db.transaction(() => {
      if (userVersion(db) >= migration.version) return false;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
      return true;
    });
    try {
      if (step.immediate()) applied.push(migration.version);
    } catch (error) {
      throw new AtpError('ATP_HISTORY_VERSION', `${file}: migrating the run history to version ${migration.version} (${migration.what}) failed: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
        details: { file, version: migration.version },
      });
    }
  }
  return applied;
}
