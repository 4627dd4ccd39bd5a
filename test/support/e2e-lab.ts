/**
 * One lab VM per e2e test file: the verify CLI's own lab target (hub on the
 * agent's chardev socket, lab VM with the agent, QMP), in a fresh state dir,
 * torn down in afterAll even when a test failed, with a check that no QEMU
 * process for that state dir is left behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLabTarget, type LabTarget, type LabTargetOptions } from '../../host/src/targets/lab-target.js';
import { defaultCacheDir } from '../../host/src/lab/paths.js';
import { requireBinary } from '../../host/test/support/binaries.js';

export interface E2eLab {
  target: LabTarget;
  stateDir: string;
  /** Stops the VM and removes the state dir; idempotent. */
  stop(): Promise<void>;
}

/** Boots the lab VM with the agent in a fresh temp state dir. */
export async function startE2eLab(options: Pick<LabTargetOptions, 'extraDevices' | 'inputProfile' | 'keyboard' | 'display'> = {}): Promise<E2eLab> {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-'));
  let target: LabTarget | undefined;
  const stop = async (): Promise<void> => {
    await target?.close();
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    target = await startLabTarget({ stateDir, cacheDir: defaultCacheDir(), killOnExit: true, readyTimeoutMs: 300_000, ...options });
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { target, stateDir, stop };
}

/** Pids of live qemu-system-* processes whose command line mentions `needle` (e.g. a state dir). */
export function qemuProcessesFor(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    let stat: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    const argv = cmdline.split('\0');
    if (state === 'Z' || !path.basename(argv[0] ?? '').startsWith('qemu-system')) continue;
    if (argv.some((a) => a.includes(needle))) pids.push(Number(entry));
  }
  return pids;
}
