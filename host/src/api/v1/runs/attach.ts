/**
 * Wires runs into a server: opens the run store (CONFIG_DIR/runs.db unless
 * told otherwise), builds the RunManager on the server's event log and
 * registers it as `context.services.get('runs')`, where routes/runs.ts finds
 * it. `atp-host serve` calls it once and `close()`s it before the hub stops.
 */
import { configDir } from '../../../config/paths.js';
import { RunStore, type Retention } from '../../../history/index.js';
import { AtpError } from '@atp/protocol';
import type { ApiContext } from '../context.js';
import { RunManager } from './manager.js';
import { suiteDirs } from '../routes/suites.js';
import type { ServerLabSettings } from './targets.js';

export const RUNS_SERVICE = 'runs';

export interface AttachRunsOptions {
  /** Written into reports (tool.version). */
  version: string;
  /** The store file (default CONFIG_DIR/runs.db). */
  dbFile?: string;
  retention?: Retention;
  /** Where suite paths are looked up (default: the server's suite dirs, as /api/v1/suites lists them). */
  suiteDirs?: readonly string[];
  lab?: ServerLabSettings;
  maxConcurrentRuns?: number;
}

export function attachRuns(context: ApiContext, options: AttachRunsOptions): RunManager {
  const store = RunStore.open(options.dbFile ?? RunStore.fileIn(configDir(context.location)), options.retention === undefined ? {} : { retention: options.retention });
  try {
    const manager = new RunManager({
      store,
      events: context.events,
      location: context.location,
      suiteDirs: () => options.suiteDirs ?? suiteDirs(context),
      version: options.version,
      log: (line) => context.log(line),
      ...(options.lab === undefined ? {} : { lab: options.lab }),
      ...(options.maxConcurrentRuns === undefined ? {} : { maxConcurrentRuns: options.maxConcurrentRuns }),
    });
    context.services.set(RUNS_SERVICE, manager);
    return manager;
  } catch (error) {
    store.close();
    throw error;
  }
}

/** The server's RunManager (routes/runs.ts); ATP_API_NOT_FOUND when this server has none. */
export function runsOf(context: ApiContext): RunManager {
  const manager = context.services.get(RUNS_SERVICE);
  if (manager instanceof RunManager) return manager;
  throw new AtpError('ATP_API_NOT_FOUND', 'this server keeps no runs (no run manager attached)');
}
