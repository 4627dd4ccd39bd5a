/**
 * What the `atp-host lab` commands do (lab.ts defines them and loads this file when one runs).
 * Nothing printed holds a lab VM's agent token or display passwords: the text
 * and the JSON name the 0600 files that hold them (`--token-file STATE/agent.token`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import path from 'node:path';
import {
  installPrerequisites,
  LAB_INPUT_PROFILES,
  LAB_KEYBOARDS,
  labFleetDown,
  labFleetStatus,
  labFleetUp,
  labStatus,
  labUp,
  readConsole,
  recordFixtures,
  RECORD_PHASES,
  VIRTIO_KEYBOARD_PHASES,
  type LabFleetVmStatus,
  type LabStatus,
  type LabUpOptions,
  type LabState,
  type LabVm,
  statePaths,
} from '../lab/index.js';
import type { CliIo } from './program.js';

export interface CommonFlags {
  stateDir?: string;
  cacheDir?: string;
}

export interface UpFlags extends CommonFlags {
  agent?: string;
  accel?: string;
  memory?: string;
  compression?: string;
  timeout?: string;
  install?: boolean;
  json?: boolean;
  input?: string;
  keyboard?: string;
  count?: string;
  bootConcurrency?: string;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new AtpError('ATP_SCHEMA_INVALID', `${flag} expects a positive integer, got ${JSON.stringify(value)}`, { details: { field: flag } });
  return n;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new AtpError('ATP_SCHEMA_INVALID', `${flag} expects one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, { details: { field: flag } });
}

function upOptions(flags: UpFlags, io: CliIo): LabUpOptions {
  const timeout = positiveInt(flags.timeout, '--timeout');
  const accel = oneOf(flags.accel, ['tcg', 'kvm'] as const, '--accel');
  const memoryMb = positiveInt(flags.memory, '--memory');
  const compression = oneOf(flags.compression, ['gzip', 'none'] as const, '--compression');
  const inputProfile = oneOf(flags.input, LAB_INPUT_PROFILES, '--input');
  const keyboard = oneOf(flags.keyboard, LAB_KEYBOARDS, '--keyboard');
  return {
    ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
    ...(flags.cacheDir ? { cacheDir: flags.cacheDir } : {}),
    ...(flags.agent ? { agent: flags.agent } : {}),
    ...(accel ? { accel } : {}),
    ...(memoryMb ? { memoryMb } : {}),
    ...(compression ? { compression } : {}),
    ...(inputProfile ? { inputProfile } : {}),
    ...(keyboard ? { keyboard } : {}),
    ...(timeout ? { readyTimeoutMs: timeout * 1000 } : {}),
    log: (line) => io.err(`lab: ${line}\n`),
  };
}

/** One line per fleet VM: name, pid, uuid, agent id, state dir. */
/** A state as printed: the token's file instead of the token, display endpoints without their passwords (they stay in the 0600 state file). */
export function printableState(state: LabState): Omit<LabState, 'token'> & { tokenFile: string; stateFile: string } {
  const { token: _token, display, ...rest } = state;
  const paths = statePaths(state.stateDir);
  const bare = (e: { password?: string } | undefined): object | undefined => (e === undefined ? undefined : { ...e, password: e.password === undefined ? undefined : `(in ${paths.stateFile})` });
  const shown = display === undefined ? undefined : { ...display, spice: bare(display.spice), vnc: bare(display.vnc) };
  return { ...rest, ...(shown === undefined ? {} : { display: shown as LabState['display'] }), tokenFile: paths.token, stateFile: paths.stateFile };
}

function fleetLine(vm: LabVm): string {
  return `${path.basename(vm.state.stateDir)}  pid ${vm.state.pid}  uuid ${vm.state.uuid ?? '?'}  agent ${vm.state.agentId}  ${vm.state.stateDir}`;
}

function singleStatusLine(status: LabStatus): string {
  if (!status.running) return status.state ? `not running (stale state for pid ${status.state.pid})\n` : 'not running\n';
  return `running: pid ${status.state?.pid ?? '?'} since ${status.state?.startedAt ?? '?'}, QEMU ${status.qemu?.status ?? 'not answering'}, qmp ${status.state?.sockets.qmp ?? '?'}\n`;
}

function fleetStatusLine(v: LabFleetVmStatus): string {
  const s = v.status.state;
  if (!v.status.running) return `${v.name}  not running (stale state for pid ${s?.pid ?? '?'})  ${v.stateDir}`;
  return `${v.name}  pid ${s?.pid ?? '?'}  uuid ${s?.uuid ?? '?'}  agent ${s?.agentId ?? '?'}  QEMU ${v.status.qemu?.status ?? 'not answering'}  ${v.stateDir}`;
}

async function fleetUp(fleet: { count: number; bootConcurrency: number | undefined; json: boolean }, options: LabUpOptions, io: CliIo): Promise<void> {
  const { count, bootConcurrency } = fleet;
  const { stateDir, ...common } = options;
  const vms = await labFleetUp({
    ...common,
    count,
    ...(stateDir ? { stateDir } : {}),
    ...(bootConcurrency ? { bootConcurrency } : {}),
    onVm: (vm) => io.err(`lab: ${path.basename(vm.state.stateDir)} ready in ${(vm.bootMs / 1000).toFixed(1)} s\n`),
  });
  if (fleet.json) return io.out(`${JSON.stringify(vms.map((vm) => ({ name: path.basename(vm.state.stateDir), bootMs: vm.bootMs, ...printableState(vm.state) })), null, 2)}\n`);
  io.out(`${vms.map(fleetLine).join('\n')}\n`);
}

export async function runLabUp(flags: UpFlags, io: CliIo): Promise<void> {
  const options = upOptions(flags, io);
  const count = positiveInt(flags.count, '--count');
  const bootConcurrency = positiveInt(flags.bootConcurrency, '--boot-concurrency');
  if (bootConcurrency !== undefined && count === undefined) {
    throw new AtpError('ATP_SCHEMA_INVALID', '--boot-concurrency needs --count', { details: { field: '--boot-concurrency' } });
  }
  if (flags.install) await installPrerequisites((line) => io.err(`lab: ${line}\n`));
  if (count !== undefined) return fleetUp({ count, bootConcurrency, json: flags.json ?? false }, options, io);
  const vm = await labUp(options);
  if (flags.json) return io.out(`${JSON.stringify({ ...printableState(vm.state), bootMs: vm.bootMs, image: vm.image }, null, 2)}\n`);
  io.out(
    [
      `lab VM running: pid ${vm.state.pid}, kernel ${vm.image.kernelRelease}, ${vm.state.accel}, ready in ${(vm.bootMs / 1000).toFixed(1)} s${vm.image.reused ? ' (cached image)' : ''}`,
      `  qmp    ${vm.state.sockets.qmp}`,
      `  qga    ${vm.state.sockets.qga}`,
      `  agent  ${vm.state.sockets.agent}${vm.hello ? ` (agent ${vm.hello.agentId} said hello)` : ''}`,
      `  token  in ${statePaths(vm.state.stateDir).token} (mode 0600: --token-file)`,
      `  console ${vm.state.console}`,
      '',
    ].join('\n'),
  );
}

export async function runLabDown(flags: CommonFlags, io: CliIo): Promise<void> {
  const down = await labFleetDown(flags.stateDir ? { stateDir: flags.stateDir } : {});
  const fleet = down.vms.filter((v) => v.wasRunning).map((v) => v.name);
  if (!down.single && fleet.length === 0) return io.out('no lab VM was running\n');
  if (down.single) io.out('lab VM stopped\n');
  if (fleet.length > 0) io.out(`lab fleet: stopped ${fleet.length} VM${fleet.length === 1 ? '' : 's'}: ${fleet.join(', ')}\n`);
}

export async function runLabStatus(flags: CommonFlags & { json?: boolean }, io: CliIo): Promise<void> {
  const { single: status, vms } = await labFleetStatus(flags.stateDir ? { stateDir: flags.stateDir } : {});
  const shown = <T extends { state?: LabState | undefined }>(s: T): T | (Omit<T, 'state'> & { state: ReturnType<typeof printableState> }) => (s.state === undefined ? s : { ...s, state: printableState(s.state) });
  if (flags.json) return io.out(`${JSON.stringify(vms.length > 0 ? { ...shown(status), fleet: vms.map((v) => ({ ...v, status: shown(v.status) })) } : shown(status), null, 2)}\n`);
  // With only a fleet here, the single VM's "not running" would read as the fleet's.
  if (status.state || vms.length === 0) io.out(singleStatusLine(status));
  if (vms.length > 0) io.out(`lab fleet: ${vms.filter((v) => v.status.running).length} of ${vms.length} VMs running\n${vms.map(fleetStatusLine).join('\n')}\n`);
}

export async function runLabConsole(flags: CommonFlags & { follow?: boolean }, io: CliIo): Promise<void> {
  const where = flags.stateDir ? { stateDir: flags.stateDir } : {};
  let shown = await readConsole(where);
  io.out(shown);
  while (flags.follow && (await labStatus(where)).running) {
    await sleep(250);
    const now = await readConsole(where);
    if (now.length > shown.length) io.out(now.slice(shown.length));
    shown = now;
  }
}

export async function runLabRecordFixtures(flags: CommonFlags & { out: string; virtioKeyboard?: boolean }, io: CliIo): Promise<void> {
  const base = { ...upOptions(flags, io), outDir: flags.out };
  const written = await recordFixtures({ ...base, phases: RECORD_PHASES, log: (l) => io.err(`lab: ${l}\n`) });
  if (flags.virtioKeyboard) {
    written.push(...(await recordFixtures({ ...base, phases: VIRTIO_KEYBOARD_PHASES, prefix: 'virtio-', extraDevices: ['virtio-keyboard-pci'], log: (l) => io.err(`lab: ${l}\n`) })));
  }
  io.out(`${written.map((f) => `wrote ${f}`).join('\n')}\n`);
}
