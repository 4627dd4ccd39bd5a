/** What the `atp-host runs` commands do (runs.ts defines them and loads this file when one runs), and the history retention `serve` takes. */
import { existsSync } from 'node:fs';
import { AtpError, isActiveRunStatus, isAtpError, RUN_STATUSES, type ApiRunDetail, type ApiRunSummary, type RunStatus } from '@atp/protocol';
import { runDetailOf, runSummaryOf } from '../api/v1/runs/index.js';
import { configDir } from '../config/paths.js';
import { DEFAULT_RETENTION, RunStore, type Retention } from '../history/index.js';
import { formatHtmlReport } from '../report/html.js';
import { formatDuration, formatSummary, formatTable, toJsonReport, toJunitXml, writeFileAtomic } from '../report/index.js';
import { RUNS_EXPORT_FORMATS as EXPORT_FORMATS } from './defaults.js';
import type { CliIo } from './program.js';

export interface StoreFlags {
  configDir?: string;
}

const usage = (field: string, message: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `${field}: ${message}`, { details: { field } });

/** Runs `use` on the store; undefined when the config dir has no run history yet. */
function withStore<T>(flags: StoreFlags, use: (store: RunStore) => T): T | undefined {
  const file = RunStore.fileIn(configDir(flags.configDir === undefined ? {} : { configDir: flags.configDir }));
  if (!existsSync(file)) return undefined;
  const store = RunStore.open(file);
  try {
    return use(store);
  } finally {
    store.close();
  }
}

function unknown(id: string, flags: StoreFlags): AtpError {
  return new AtpError('ATP_HISTORY_RUN_UNKNOWN', `no run ${JSON.stringify(id)}: ${configDir(flags.configDir === undefined ? {} : { configDir: flags.configDir })} has no run history yet`, { details: { runId: id } });
}

function count(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) throw usage(flag, `expected a whole number ≥ ${min}, got ${JSON.stringify(text)}`);
  return Number(text);
}

const tookText = (r: ApiRunSummary): string => (r.startedAt === undefined ? '' : formatDuration(Date.parse(r.finishedAt ?? new Date().toISOString()) - Date.parse(r.startedAt)));
const timeText = (iso: string | undefined): string => (iso === undefined ? '' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
const vmsText = (r: ApiRunSummary): string => (r.vms === undefined ? '' : `${r.vms.passed}/${r.vms.total} passed`);

export function runListTable(runs: readonly ApiRunSummary[]): string {
  return formatTable(
    [{ head: 'ID' }, { head: 'STATUS' }, { head: 'CREATED' }, { head: 'TOOK', right: true }, { head: 'TARGETS' }, { head: 'VMS' }, { head: 'SUITES' }],
    runs.map((r) => [r.id, r.status, timeText(r.createdAt), tookText(r), r.targets, vmsText(r), r.suites.join(', ')]),
  );
}

function detailText(d: ApiRunDetail): string {
  const lines = [
    `run ${d.id}`,
    `status    ${d.status}${d.exitCode === undefined ? '' : ` (exit ${d.exitCode})`}`,
    `created   ${timeText(d.createdAt)}`,
    ...(d.startedAt === undefined ? [] : [`started   ${timeText(d.startedAt)}`]),
    ...(d.finishedAt === undefined ? [] : [`finished  ${timeText(d.finishedAt)} (took ${tookText(d)})`]),
    `targets   ${d.targets}`,
    `suites    ${d.suites.join(', ')}`,
    ...(d.error === undefined ? [] : [`error     ${d.error.code}: ${d.error.message}`]),
    `events    ${d.events}`,
  ];
  const vms =
    d.progress.length === 0
      ? ''
      : `\n${formatTable(
          [{ head: 'VM' }, { head: 'STATE' }, { head: 'ROUNDS', right: true }, { head: 'SUITES', right: true }, { head: 'KEYS', right: true }, { head: 'DEFECTS', right: true }, { head: 'WHERE / ERROR' }],
          d.progress.map((v) => [
            v.vm,
            v.phase,
            v.rounds === undefined ? '' : String(v.rounds),
            String(v.suitesDone),
            String(v.keys),
            String(v.defects),
            v.error !== undefined ? `${v.error.code}: ${v.error.message}` : v.suite === undefined ? '' : `r${v.round ?? 1} ${v.suite} step ${(v.step ?? 0) + 1}${v.steps === undefined ? '' : `/${v.steps}`}`,
          ]),
        )}`;
  return `${lines.join('\n')}\n${vms}`;
}

/** Unknown runs, bad flags and runs still going are usage errors (exit 2); the rest goes to the CLI's handler. */
async function guarded(io: CliIo, setExitCode: (code: number) => void, action: () => Promise<void> | void): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!isAtpError(error) || !['ATP_HISTORY_RUN_UNKNOWN', 'ATP_SCHEMA_INVALID', 'ATP_API_CONFLICT'].includes(error.code)) throw error;
    io.err(`atp-host runs: ${error.code}: ${error.message}\n`);
    setExitCode(2);
  }
}

export function listRuns(flags: StoreFlags & { limit?: string; offset?: string; status?: string; json?: boolean }, io: CliIo, setExitCode: (code: number) => void): Promise<void> {
  return guarded(io, setExitCode, async () => {
    if (flags.status !== undefined && !(RUN_STATUSES as readonly string[]).includes(flags.status)) throw usage('--status', `expected one of ${RUN_STATUSES.join(', ')}`);
    const query = { limit: count(flags.limit, '--limit', 1) ?? 50, offset: count(flags.offset, '--offset', 0) ?? 0, ...(flags.status === undefined ? {} : { status: flags.status as RunStatus }) };
    const listed = withStore(flags, (store) => {
      const { runs: records, total } = store.list(query);
      return { runs: records.map((r) => runSummaryOf(r)), total };
    }) ?? { runs: [], total: 0 };
    if (flags.json === true) return io.out(`${JSON.stringify(listed, null, 2)}\n`);
    if (listed.runs.length === 0) return io.out('no runs\n');
    io.out(runListTable(listed.runs));
    if (listed.total > query.offset + listed.runs.length) io.out(`(${listed.runs.length} of ${listed.total}: --offset ${query.offset + listed.runs.length} for more)\n`);
  });
}

export function showRun(id: string, flags: StoreFlags & { json?: boolean }, io: CliIo, setExitCode: (code: number) => void): Promise<void> {
  return guarded(io, setExitCode, async () => {
    const shown = withStore(flags, (store) => {
      const record = store.require(store.resolveId(id));
      return { detail: runDetailOf(record, store), stored: store.report(record.id) };
    });
    if (shown === undefined) throw unknown(id, flags);
    if (flags.json === true) return io.out(`${JSON.stringify(shown.detail, null, 2)}\n`);
    io.out(detailText(shown.detail));
    if (shown.stored !== undefined) io.out(`\n${formatSummary(shown.stored.report, { color: false })}`);
  });
}

export function exportRun(id: string, flags: StoreFlags & { format: string; out?: string }, io: CliIo, setExitCode: (code: number) => void): Promise<void> {
  return guarded(io, setExitCode, async () => {
    if (!(EXPORT_FORMATS as readonly string[]).includes(flags.format)) throw usage('--format', `expected one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(flags.format)}`);
    const found = withStore(flags, (store) => {
      const runId = store.resolveId(id);
      const stored = store.report(runId);
      if (stored === undefined) throw new AtpError('ATP_HISTORY_RUN_UNKNOWN', `run ${runId} has no report (${store.require(runId).status})`, { details: { runId } });
      return { runId, ...stored };
    });
    if (found === undefined) throw unknown(id, flags);
    const { report, stepLabels, runId } = found;
    const text = flags.format === 'json' ? toJsonReport(report) : flags.format === 'junit' ? toJunitXml(report, { stepLabels }) : formatHtmlReport(report, { stepLabels, title: `ATP run ${runId}` });
    if (flags.out === undefined) return io.out(text);
    await writeFileAtomic(flags.out, text);
    io.err(`wrote ${flags.format} report of run ${runId} to ${flags.out}\n`);
  });
}

export function deleteRun(id: string, flags: StoreFlags & { force?: boolean }, io: CliIo, setExitCode: (code: number) => void): Promise<void> {
  return guarded(io, setExitCode, async () => {
    const deleted = withStore(flags, (store) => {
      const record = store.require(store.resolveId(id));
      if (isActiveRunStatus(record.status) && flags.force !== true) {
        throw new AtpError('ATP_API_CONFLICT', `run ${record.id} is ${record.status}: cancel it on its server first (or --force if that server is gone)`, { details: { runId: record.id, status: record.status } });
      }
      store.delete(record.id);
      return record.id;
    });
    if (deleted === undefined) throw unknown(id, flags);
    io.out(`deleted run ${deleted}\n`);
  });
}

/** `atp-host serve --keep-runs N --keep-days D`: the run history's retention (each defaults to DEFAULT_RETENTION's). */
export function retentionOf(flags: { keepRuns?: string; keepDays?: string }): { retention?: Retention } {
  if (flags.keepRuns === undefined && flags.keepDays === undefined) return {};
  const maxRuns = count(flags.keepRuns, '--keep-runs', 1) ?? DEFAULT_RETENTION.maxRuns;
  const maxAgeDays = count(flags.keepDays, '--keep-days', 1) ?? DEFAULT_RETENTION.maxAgeDays;
  return { retention: { ...(maxRuns === undefined ? {} : { maxRuns }), ...(maxAgeDays === undefined ? {} : { maxAgeDays }) } };
}
