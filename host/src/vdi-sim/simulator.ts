/**
 * startSimulator: reads the models from libvirt, builds the directory from
 * the seed, starts the HTTP server and hands back its URL, the fault switches
 * and close(). close() stops answering (hung calls are let go and refused),
 * lets running tasks end (their waits cut short), destroys every domain it
 * created, removes the clone dirs and closes its libvirt client.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { DEFAULT_TOKEN_LIFETIME_MS, TokenStore } from './auth.js';
import type { SimContext } from './context.js';
import { FaultState } from './faults.js';
import { thisHost } from './host-info.js';
import { LibvirtBackend } from './libvirt-backend.js';
import { DEFAULT_SEED, resolveSeed } from './seed.js';
import { createSimApp } from './server.js';
import { SimStore } from './store.js';
import { TaskRunner } from './tasks.js';
import type { Simulator, SimulatorOptions } from './types.js';

export const DEFAULT_SIM_HOST = '127.0.0.1';
export const DEFAULT_SIM_URI = 'qemu:///system';

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

function checkOptions(options: SimulatorOptions): void {
  const bad = (field: string, why: string): never => {
    throw new AtpError('ATP_SCHEMA_INVALID', `simulator options ${field}: ${why}`, { details: { field } });
  };
  if (!Array.isArray(options.models) || options.models.length === 0 || options.models.some((m) => typeof m !== 'string' || m === '')) bad('models', 'at least one template domain name');
  if (typeof options.stateDir !== 'string' || !path.isAbsolute(options.stateDir)) bad('stateDir', 'an absolute directory path');
  const lifetime = options.tokenLifetimeMs;
  if (lifetime !== undefined && !(Number.isFinite(lifetime) && lifetime > 0)) bad('tokenLifetimeMs', 'a positive number of milliseconds');
  const port = options.listen?.port;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) bad('listen.port', 'an integer from 0 to 65535');
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  checkOptions(options);
  const directory = resolveSeed(options.seed ?? DEFAULT_SEED, 'simulator options seed');
  const stateDir = path.resolve(options.stateDir);
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new AtpError('ATP_VDI_SIM_LISTEN', `cannot create the state dir ${stateDir}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { dir: stateDir } });
  }
  const backend = LibvirtBackend.open(options.uri ?? DEFAULT_SIM_URI);
  const store = new SimStore();
  const tokens = new TokenStore(directory.admin, options.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS);
  const faults = new FaultState(() => tokens.expireAll());
  const tasks = new TaskRunner(store);
  const startedAt = Date.now();
  let closing = false;
  const app = (() => {
    const ctx: SimContext = { store, backend, tasks, tokens, faults, host: thisHost(startedAt), directory, stateDir, startedAt };
    return createSimApp(ctx, () => closing);
  })();
  const host = options.listen?.host ?? DEFAULT_SIM_HOST;
  try {
    for (const name of options.models) {
      const model = await backend.readModel(name);
      store.models.set(model.id, model);
    }
    await app.listen({ host, port: options.listen?.port ?? 0 }).catch((cause: unknown) => {
      throw new AtpError('ATP_VDI_SIM_LISTEN', `cannot listen on ${urlHost(host)}:${options.listen?.port ?? 0}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { host, port: options.listen?.port ?? 0 } });
    });
  } catch (error) {
    await app.close().catch(() => undefined);
    await backend.close().catch(() => undefined);
    throw error;
  }
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : (options.listen?.port ?? 0);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      closing = true;
      faults.releaseAll();
      await app.close().catch(() => undefined);
      await tasks.close();
      await backend.close();
      await Promise.all([...store.domains.values()].map((d) => rm(d.dir, { recursive: true, force: true })));
    })());

  return { url: `http://${urlHost(host)}:${port}`, faults, close };
}
