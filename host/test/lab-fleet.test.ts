/**
 * The lab fleet for real: three lab VMs (TCG) from one image through
 * labFleetUp, each with its own pid, SMBIOS UUID, token, sockets and agent id,
 * each guest reading its own UUID from DMI through qemu-ga (guest-file-open /
 * guest-file-read); labFleetDown leaves no QEMU behind. Then the failure path:
 * one VM of a fleet cannot start, the others are stopped and the error names it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { labFleetDown, labFleetStatus, labFleetUp, type LabFleetUpOptions } from '../src/lab/fleet.js';
import { defaultCacheDir, statePaths } from '../src/lab/paths.js';
import { isSameProcessAlive } from '../src/lab/state.js';
import type { LabVm } from '../src/lab/vm.js';
import { QgaClient } from '../src/vm/qga/index.js';
import { requireBinary } from './support/binaries.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let root: string;
let vms: LabVm[] = [];
let base: Omit<LabFleetUpOptions, 'count'>;

/** Pids of live processes whose command line mentions `dir` (a QEMU left behind would show up here). */
function processesUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/\) [ZX] /.test(stat) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  root = await mkdtemp(path.join(os.tmpdir(), 'atp-fleet-'));
  base = {
    cacheDir: defaultCacheDir(),
    agent: path.join(repo, 'guest-agent/src/main.ts'),
    agentAliases: { '@atp/protocol': path.join(repo, 'protocol-schemas/src/index.ts') },
    killOnExit: true,
  };
  vms = await labFleetUp({ ...base, count: 3, stateDir: root });
}, 300_000);

afterAll(async () => {
  if (root) {
    await labFleetDown({ stateDir: root });
    await rm(root, { recursive: true, force: true });
  }
}, 60_000);

describe('lab fleet', () => {
  it('boots vm-01 … vm-03 with distinct pids, uuids, tokens, sockets and agent ids; each agent says hello with its own', () => {
    expect(vms.map((v) => path.basename(v.state.stateDir))).toEqual(['vm-01', 'vm-02', 'vm-03']);
    expect(vms.map((v) => v.state.agentId)).toEqual(['lab-01', 'lab-02', 'lab-03']);
    expect(vms.map((v) => v.hello?.agentId)).toEqual(['lab-01', 'lab-02', 'lab-03']);
    expect(vms.map((v) => v.hello?.token)).toEqual(vms.map((v) => v.state.token));
    for (const key of ['pid', 'uuid', 'token'] as const) expect(new Set(vms.map((v) => v.state[key])).size).toBe(3);
    const sockets = vms.flatMap((v) => Object.values(v.state.sockets));
    expect(new Set(sockets).size).toBe(9);
    expect(new Set(vms.map((v) => v.image.hash)).size).toBe(1);
    for (const vm of vms) {
      expect(vm.state.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(vm.state.args[vm.state.args.indexOf('-m') + 1]).toBe('320'); // the fleet default
      expect(vm.state.args[vm.state.args.indexOf('-accel') + 1]).toBe('tcg,tb-size=64');
    }
  });

  it("answers on every VM's qemu-ga, and each guest reads its own SMBIOS uuid from /sys/class/dmi/id/product_uuid", async () => {
    for (const vm of vms) {
      const qga = await QgaClient.connect({ path: vm.state.sockets.qga }, { timeoutMs: 15_000 });
      try {
        await qga.ping();
        const seen = Buffer.from(await qga.download('/sys/class/dmi/id/product_uuid')).toString('utf8').trim();
        expect(seen).toBe(vm.state.uuid);
      } finally {
        qga.close();
      }
    }
  });

  it('labFleetStatus lists the three running VMs by name; a second fleet on the same root is refused before anything boots', async () => {
    const status = await labFleetStatus({ stateDir: root });
    expect(status.single.running).toBe(false);
    expect(status.vms.map((v) => [v.name, v.status.running, v.status.state?.pid])).toEqual(vms.map((v) => [path.basename(v.state.stateDir), true, v.state.pid]));
    const again = labFleetUp({ ...base, count: 2, stateDir: root });
    await expect(again).rejects.toThrow(/a lab fleet is already running under .*\(vm-01, vm-02, vm-03\)/);
    await expect(again).rejects.toMatchObject({ code: 'ATP_LAB_STATE' });
  });

  it('labFleetDown stops every VM: no pid alive, no QEMU under the root, state files gone', async () => {
    const down = await labFleetDown({ stateDir: root });
    expect(down.single).toBe(false);
    expect(down.vms.map((v) => [v.name, v.wasRunning])).toEqual([
      ['vm-01', true],
      ['vm-02', true],
      ['vm-03', true],
    ]);
    for (const vm of vms) expect(isSameProcessAlive(vm.state.pid, vm.state.pidStartTicks)).toBe(false);
    expect(processesUnder(root)).toEqual([]);
    for (const vm of vms) await expect(stat(statePaths(vm.state.stateDir).stateFile)).rejects.toThrow(/ENOENT/);
    expect((await labFleetStatus({ stateDir: root })).vms).toEqual([]);
    expect((await labFleetDown({ stateDir: root })).vms.every((v) => !v.wasRunning)).toBe(true);
  });
});

describe('lab fleet failure', () => {
  it('one VM cannot start (its state dir is a file): the VM booting beside it is stopped, the next is never started, the error names the VM', async () => {
    const failRoot = await mkdtemp(path.join(os.tmpdir(), 'atp-fleet-fail-'));
    try {
      await mkdir(failRoot, { recursive: true });
      await writeFile(path.join(failRoot, 'vm-02'), 'not a directory');
      const started = Date.now();
      const error: unknown = await labFleetUp({ ...base, count: 3, bootConcurrency: 2, stateDir: failRoot }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AtpError);
      expect((error as AtpError).code).toBe('ATP_LAB_BOOT');
      expect((error as AtpError).message).toMatch(/^lab fleet: vm-02 \(.*vm-02\) failed: .*\nstopped the 1 other VM that had started$/s);
      expect((error as AtpError).details).toMatchObject({ vm: 'vm-02', index: 1 });
      expect(Date.now() - started).toBeLessThan(30_000); // vm-01 was stopped while booting, not after
      expect(processesUnder(failRoot)).toEqual([]);
      await expect(stat(path.join(failRoot, 'vm-03'))).rejects.toThrow(/ENOENT/);
      await expect(stat(statePaths(path.join(failRoot, 'vm-01')).stateFile)).rejects.toThrow(/ENOENT/);
    } finally {
      await labFleetDown({ stateDir: failRoot }).catch(() => undefined);
      await rm(failRoot, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses bad counts and concurrencies with ATP_SCHEMA_INVALID naming the field, before touching anything', async () => {
    for (const [options, field] of [
      [{ count: 0 }, 'count'],
      [{ count: 2.5 }, 'count'],
      [{ count: 1000 }, 'count'],
      [{ count: 2, bootConcurrency: 0 }, 'bootConcurrency'],
      [{ count: 2, memoryMb: -1 }, 'memoryMb'],
    ] as const) {
      await expect(labFleetUp({ ...base, ...options, stateDir: path.join(root, 'never') })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID', details: { field } });
    }
    await expect(stat(path.join(root, 'never'))).rejects.toThrow(/ENOENT/);
  });
});
