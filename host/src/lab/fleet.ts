/**
 * A lab fleet: N lab VMs (vm.ts) booted from one image for the run engine and
 * its benchmark. The fleet root is a lab state dir (default defaultStateDir(),
 * the single VM's own dir): VM i lives in <root>/vm-01 … <root>/vm-NN
 * (paths.ts fleetVmName) with agent id lab-01 … lab-NN and its own random
 * SMBIOS UUID and agent token. `labFleetDown` on a root stops its vm-* VMs and
 * the single VM there, so one `atp-host lab down` stops everything.
 *
 * - The image is built once here (buildImage hashes ~120 MB of inputs and
 *   bundles the agent: seconds of CPU per call) and handed to every labUp.
 * - At most `bootConcurrency` VMs boot at once; default 2, one per core of the
 *   2-core machine this was measured on. TCG boots are CPU-bound: with more at
 *   once each boot just takes longer (figures in the report of ATP issue 12).
 * - All or nothing: when one VM fails, no further VM is started, the ones that
 *   started (also those still booting) are stopped, and an ATP_LAB_BOOT names
 *   the failed VM (the VM's own error is its cause and details.causeCode; its
 *   console.log stays in its dir). A partial fleet would leave
 *   the caller with fewer VMs than asked for and no LabVm objects for them;
 *   retrying the whole fleet is simpler and the failure is usually the machine.
 * - Memory guard: refused before anything boots when count × (memoryMb +
 *   tb-size + QEMU's own ~40 MiB) exceeds MemAvailable. Over a long run a guest
 *   touches all its RAM, so this is the bound that holds (checkMemory: false
 *   skips it). Fleet VMs default to 320 MiB, not labUp's 384 (vm-args.ts).
 * - killOnExit: one 'exit' listener for the whole fleet that SIGKILLs every
 *   fleet VM still recorded in a state file (labUp's own hooks would add one
 *   listener per VM and trip Node's listener-leak warning at 11).
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import { buildImage } from './image/build.js';
import { defaultStateDir, FLEET_VM_DIR, fleetVmName, statePaths } from './paths.js';
import { assertPrerequisites } from './prereqs.js';
import { isSameProcessAlive, labStateSchema } from './state.js';
import { DEFAULT_TCG_TB_SIZE_MB } from './vm-args.js';
import { labDown, labStatus, labUp, type LabStatus, type LabUpOptions, type LabVm } from './vm.js';

export const DEFAULT_FLEET_BOOT_CONCURRENCY = 2;
/** Guest RAM of a fleet VM: 288 is the least that boots (256 panics unpacking the initramfs); 320 leaves the agent ~80 MiB. */
export const DEFAULT_FLEET_MEMORY_MB = 320;
export const LAB_FLEET_MAX_COUNT = 999;
/** QEMU's own resident memory beside guest RAM and the TCG cache (measured 35–45 MiB). */
const QEMU_OVERHEAD_MB = 40;
/** sockaddr_un.sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export interface LabFleetUpOptions extends Omit<LabUpOptions, 'stateDir' | 'agentId' | 'uuid' | 'token'> {
  /** How many VMs, 1 … LAB_FLEET_MAX_COUNT. */
  count: number;
  /** The fleet root (default defaultStateDir()); VMs go to <root>/vm-NN. */
  stateDir?: string;
  /** Default DEFAULT_FLEET_BOOT_CONCURRENCY. */
  bootConcurrency?: number;
  /** Default DEFAULT_FLEET_MEMORY_MB. */
  memoryMb?: number;
  /** Refuse a fleet that may not fit in MemAvailable (default true). */
  checkMemory?: boolean;
  /** Called as each VM becomes ready (in boot order, not index order); a throw fails the fleet like a boot failure. */
  onVm?: (vm: LabVm, index: number) => void;
}

export interface LabFleetVmStatus {
  name: string;
  stateDir: string;
  status: LabStatus;
}

export interface LabFleetStatus {
  root: string;
  /** The single VM whose state dir is the root itself. */
  single: LabStatus;
  /** The fleet VMs that have a state file, by name. */
  vms: LabFleetVmStatus[];
}

export interface LabFleetDownResult {
  root: string;
  /** Whether the single VM at the root was running. */
  single: boolean;
  /** Every vm-* dir under the root, by name, and whether its VM was running. */
  vms: { name: string; stateDir: string; wasRunning: boolean }[];
}

/** The agent id of a fleet VM: lab-01 for vm-01. */
export function fleetAgentId(name: string): string {
  return `lab-${name.slice('vm-'.length)}`;
}

function positiveInt(value: number, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new AtpError('ATP_SCHEMA_INVALID', `${field} must be an integer from 1 to ${max}, got ${String(value)}`, { details: { field } });
  }
  return value;
}

async function memAvailableMb(): Promise<number | undefined> {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(await readFile('/proc/meminfo', 'utf8').catch(() => ''));
  return match?.[1] === undefined ? undefined : Math.floor(Number(match[1]) / 1024);
}

const exitKillDirs = new Set<string>();
let exitHookInstalled = false;

/** SIGKILLs the QEMU recorded in each dir's state file, if it is still that process (runs inside 'exit': sync only). */
function killRecordedVms(): void {
  for (const dir of exitKillDirs) {
    try {
      const state = labStateSchema.parse(JSON.parse(readFileSync(statePaths(dir).stateFile, 'utf8')));
      if (isSameProcessAlive(state.pid, state.pidStartTicks)) process.kill(state.pid, 'SIGKILL');
    } catch {
      // no state file (stopped, not started yet) or not ours any more
    }
  }
}

function killOnExit(dir: string): void {
  exitKillDirs.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killRecordedVms);
}

/** The vm-* dirs under `root`, sorted by name ([] when the root does not exist). */
async function fleetDirs(root: string): Promise<{ name: string; stateDir: string }[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AtpError('ATP_LAB_STATE', `cannot list the lab fleet root ${root}: ${String(cause)}`, { cause, details: { stateDir: root } });
  }
  return entries
    .filter((e) => e.isDirectory() && FLEET_VM_DIR.test(e.name))
    .map((e) => ({ name: e.name, stateDir: path.join(root, e.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Boots `count` VMs from one image; resolves with them in index order, or stops them all and throws (see the header). */
export async function labFleetUp(options: LabFleetUpOptions): Promise<LabVm[]> {
  const { count: rawCount, stateDir, bootConcurrency, checkMemory, onVm, killOnExit: kill, ...common } = options;
  const count = positiveInt(rawCount, 'count', LAB_FLEET_MAX_COUNT);
  const concurrency = Math.min(count, positiveInt(bootConcurrency ?? DEFAULT_FLEET_BOOT_CONCURRENCY, 'bootConcurrency'));
  const memoryMb = positiveInt(common.memoryMb ?? DEFAULT_FLEET_MEMORY_MB, 'memoryMb');
  const root = path.resolve(stateDir ?? defaultStateDir());
  const names = Array.from({ length: count }, (_, i) => fleetVmName(i, count));
  const longest = statePaths(path.join(root, names[count - 1] ?? '')).agent;
  if (Buffer.byteLength(longest) > MAX_SOCKET_PATH_BYTES) {
    throw new AtpError('ATP_SCHEMA_INVALID', `the fleet root ${root} is too long: its socket paths (${longest}) exceed ${MAX_SOCKET_PATH_BYTES} bytes`, { details: { field: 'stateDir' } });
  }
  const running = (await labFleetStatus({ stateDir: root })).vms.filter((v) => v.status.running);
  if (running.length > 0) {
    throw new AtpError('ATP_LAB_STATE', `a lab fleet is already running under ${root} (${running.map((v) => v.name).join(', ')}); run \`atp-host lab down\` first`, { details: { stateDir: root } });
  }
  if (checkMemory ?? true) {
    const perVm = memoryMb + (common.tbSizeMb ?? DEFAULT_TCG_TB_SIZE_MB) + QEMU_OVERHEAD_MB;
    const available = await memAvailableMb();
    if (available !== undefined && count * perVm > available) {
      throw new AtpError('ATP_LAB_BOOT', `a fleet of ${count} VMs may need ${count * perVm} MiB (${count} × ${perVm}: guest RAM, TCG cache, QEMU) but only ${available} MiB are available; boot fewer VMs or give them less memory`, {
        details: { count, perVmMb: perVm, availableMb: available },
      });
    }
  }
  assertPrerequisites();
  const image = common.image ?? (await buildImage(common));

  const vms: LabVm[] = [];
  const started: string[] = [];
  let failure: { index: number; error: unknown } | undefined;
  let sweep: Promise<void> | undefined;
  let booting = true;
  let next = 0;
  const stopStarted = (): Promise<unknown> => Promise.allSettled(started.map((dir) => labDown({ stateDir: dir })));
  // After a failure, VMs still booting are stopped as soon as their state file appears (their
  // labUp then fails at once) instead of finishing a boot nobody will use.
  const sweepWhileBooting = async (): Promise<void> => {
    while (booting) {
      await stopStarted();
      await sleep(250);
    }
  };
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < count) {
      const index = next++;
      const dir = path.join(root, names[index] ?? '');
      started.push(dir);
      if (kill) killOnExit(dir);
      try {
        const vm = await labUp({ ...common, image, memoryMb, stateDir: dir, agentId: fleetAgentId(names[index] ?? '') });
        vms[index] = vm;
        onVm?.(vm, index);
      } catch (error) {
        if (failure !== undefined) continue;
        failure = { index, error };
        sweep = sweepWhileBooting();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  booting = false;
  if (failure === undefined) return vms;

  await sweep;
  await stopStarted(); // a VM that became ready between the last sweep and the end of its labUp
  const { index, error } = failure;
  const name = names[index] ?? '';
  const cause = error instanceof AtpError ? error : undefined;
  const others = started.length - 1;
  throw new AtpError('ATP_LAB_BOOT', `lab fleet: ${name} (${path.join(root, name)}) failed: ${error instanceof Error ? error.message : String(error)}\nstopped the ${others} other VM${others === 1 ? '' : 's'} that had started`, {
    cause: error,
    details: { ...cause?.details, ...(cause ? { causeCode: cause.code } : {}), vm: name, index, stateDir: path.join(root, name) },
  });
}

/** The single VM at the root and every fleet VM with a state file. */
export async function labFleetStatus(options: { stateDir?: string } = {}): Promise<LabFleetStatus> {
  const root = path.resolve(options.stateDir ?? defaultStateDir());
  const [single, all] = await Promise.all([labStatus({ stateDir: root }), fleetDirs(root)]);
  const statuses = await Promise.all(all.map(async (d) => ({ ...d, status: await labStatus({ stateDir: d.stateDir }) })));
  return { root, single, vms: statuses.filter((v) => v.status.state !== undefined) };
}

/** Stops every vm-* VM under the root and the single VM at the root, concurrently; throws (naming the dirs) if any could not be stopped. */
export async function labFleetDown(options: { stateDir?: string } = {}): Promise<LabFleetDownResult> {
  const root = path.resolve(options.stateDir ?? defaultStateDir());
  const dirs = await fleetDirs(root);
  const targets = [{ name: '(single)', stateDir: root }, ...dirs];
  const settled = await Promise.allSettled(targets.map((t) => labDown({ stateDir: t.stateDir })));
  const failed = targets.flatMap((t, i) => {
    const s = settled[i];
    return s?.status === 'rejected' ? [{ ...t, reason: s.reason as unknown }] : [];
  });
  const first = failed[0];
  if (first) {
    const code = first.reason instanceof AtpError ? first.reason.code : 'ATP_LAB_STATE';
    const what = failed.map((f) => `${f.stateDir}: ${f.reason instanceof Error ? f.reason.message : String(f.reason)}`).join('\n');
    throw new AtpError(code, `could not stop ${failed.length} lab VM${failed.length === 1 ? '' : 's'}:\n${what}`, { cause: first.reason, details: { stateDirs: failed.map((f) => f.stateDir) } });
  }
  const was = settled.map((s) => s.status === 'fulfilled' && s.value.wasRunning);
  for (const d of dirs) exitKillDirs.delete(d.stateDir);
  return { root, single: was[0] ?? false, vms: dirs.map((d, i) => ({ ...d, wasRunning: was[i + 1] ?? false })) };
}
