/**
 * `atp-host vdi simulate --model NAME… [--port P] [--host ADDR]
 * [--state-dir D] [--seed FILE.yaml] [--token-lifetime SECONDS]`: an
 * OCloudView admin API on this machine (host/src/vdi-sim) whose desk pools
 * are clones of the given template domains, until SIGINT or SIGTERM; then it
 * destroys every VM it started and removes its clone dirs.
 *
 * Prints the URL and the admin username. The admin password comes from
 * ATP_VDI_SIM_PASSWORD, else the seed file, else it is the built-in default;
 * only the default is printed (and called the default). The command's
 * definition is in vdi-simulate-command.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { DEFAULT_SIM_HOST, loadSeed, SIM_PASSWORD_ENV, startSimulator } from '../vdi-sim/index.js';
import { DEFAULT_SIMULATE_PORT } from './defaults.js';
import type { CliIo } from './program.js';
import { untilSignal } from './until-signal.js';

export { DEFAULT_SIMULATE_PORT } from './defaults.js';

export interface SimulateFlags {
  model: string[];
  port?: string;
  host?: string;
  stateDir?: string;
  seed?: string;
  tokenLifetime?: string;
}

export interface SimulateHooks {
  /** Resolves when the simulator should stop (default: the first SIGINT or SIGTERM). */
  stopped?: () => Promise<void>;
  env?: NodeJS.ProcessEnv;
}

const invalid = (flag: string, why: string, value: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `${flag} ${JSON.stringify(value)}: ${why}`, { details: { field: flag, value } });

function portOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SIMULATE_PORT;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw invalid('--port', 'expected an integer from 0 to 65535 (0 picks a free port)', text);
  return Number(text);
}

function lifetimeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) throw invalid('--token-lifetime', 'expected seconds > 0', text);
  return seconds * 1000;
}

export async function simulate(flags: SimulateFlags, io: CliIo, hooks: SimulateHooks = {}): Promise<void> {
  const port = portOf(flags.port);
  const tokenLifetimeMs = lifetimeOf(flags.tokenLifetime);
  const { seed, passwordSource } = await loadSeed(flags.seed, hooks.env ?? process.env);
  const stopped = (hooks.stopped ?? untilSignal)();
  const ownStateDir = flags.stateDir === undefined ? await mkdtemp(path.join(os.tmpdir(), 'atp-vdi-sim-')) : undefined;
  try {
    const sim = await startSimulator({
      models: flags.model,
      stateDir: path.resolve(ownStateDir ?? flags.stateDir ?? '.'),
      seed,
      listen: { host: flags.host ?? DEFAULT_SIM_HOST, port },
      ...(tokenLifetimeMs === undefined ? {} : { tokenLifetimeMs }),
    });
    try {
      io.out(`atp-host vdi simulate: listening on ${sim.url}\n`);
      io.out(`models: ${flags.model.join(', ')}\n`);
      io.out(`admin user: ${seed.admin.username}\n`);
      if (passwordSource === 'default') io.out(`admin password: ${seed.admin.password} (the built-in default; set ${SIM_PASSWORD_ENV} or admin.password in a --seed file)\n`);
      else io.out(`admin password: from ${passwordSource === 'env' ? SIM_PASSWORD_ENV : `the seed file ${flags.seed ?? ''}`}\n`);
      await stopped;
      io.out('atp-host vdi simulate: stopping (destroying its VMs, removing clone dirs)\n');
    } finally {
      await sim.close();
    }
  } finally {
    if (ownStateDir !== undefined) await rm(ownStateDir, { recursive: true, force: true });
  }
}
