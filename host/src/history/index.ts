/** The run history: a SQLite store of runs, their run events and reports (CONFIG_DIR/runs.db). */
export { RunStore, DEFAULT_RETENTION, RUNS_DB_FILE, type Retention, type RunEnd, type RunStoreOptions } from './run-store.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from './migrations.js';
export type { RunRecord, StoredReport } from './rows.js';
