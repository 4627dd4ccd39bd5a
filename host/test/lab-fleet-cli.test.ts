/**
 * `atp-host lab up --count N`, `lab status` and `lab down` on a real two-VM
 * fleet (TCG; the image without an agent, the quickest to boot), plus the
 * argument errors, which exit 2 before anything is built or booted.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../src/cli/program.js';
import { labFleetDown } from '../src/lab/fleet.js';
import { isSameProcessAlive, readLabState, type LabState } from '../src/lab/state.js';
import { defaultCacheDir, statePaths } from '../src/lab/paths.js';
import { requireBinary } from './support/binaries.js';

let root: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await runCli(argv, io);
  return { code, out, err };
}

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  root = await mkdtemp(path.join(os.tmpdir(), 'atp-fleet-cli-'));
});

afterAll(async () => {
  if (root) {
    await labFleetDown({ stateDir: root });
    await rm(root, { recursive: true, force: true });
  }
}, 60_000);

describe('atp-host lab up --count: argument errors', () => {
  it('exits 2 with ATP_SCHEMA_INVALID naming the flag, and creates nothing', async () => {
    for (const [args, message] of [
      [['--count', '0'], '--count expects a positive integer, got "0"'],
      [['--count', 'x'], '--count expects a positive integer, got "x"'],
      [['--count', '2', '--boot-concurrency', '0'], '--boot-concurrency expects a positive integer, got "0"'],
      [['--boot-concurrency', '2'], '--boot-concurrency needs --count'],
      [['--count', '1000'], 'count must be an integer from 1 to 999, got 1000'],
    ] as const) {
      const r = await cli('lab', 'up', ...args, '--state-dir', path.join(root, 'never'));
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain('ATP_SCHEMA_INVALID');
      expect(r.err).toContain(message);
    }
    await expect(stat(path.join(root, 'never'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a fleet that may not fit in memory: exit 3, ATP_LAB_BOOT with the figures', async () => {
    const r = await cli('lab', 'up', '--count', '900', '--memory', '4096', '--state-dir', path.join(root, 'never'));
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/ATP_LAB_BOOT.*a fleet of 900 VMs may need \d+ MiB \(900 × 4200: guest RAM, TCG cache, QEMU\) but only \d+ MiB are available/);
  });
});

describe('atp-host lab up --count 2, status, down', () => {
  const states: LabState[] = [];

  it('boots two VMs and prints one line per VM: name, pid, uuid, agent id, state dir', async () => {
    const r = await cli('lab', 'up', '--count', '2', '--boot-concurrency', '2', '--state-dir', root, '--cache-dir', defaultCacheDir());
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const [i, name] of ['vm-01', 'vm-02'].entries()) {
      const state = await readLabState(statePaths(path.join(root, name)).stateFile);
      if (!state) throw new Error(`no state for ${name}`);
      states.push(state);
      expect(lines[i]).toBe(`${name}  pid ${state.pid}  uuid ${state.uuid ?? ''}  agent lab-${name.slice(3)}  ${path.join(root, name)}`);
      expect(r.err).toContain(`lab: ${name} ready in `);
    }
    expect(states[0]?.uuid).not.toBe(states[1]?.uuid);
  }, 150_000);

  it('`lab status` lists the fleet VMs (and says nothing of a single VM that is not there); --json adds a fleet array', async () => {
    const r = await cli('lab', 'status', '--state-dir', root);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('lab fleet: 2 of 2 VMs running');
    expect(lines.slice(1).map((l) => l.split('  ').slice(0, 4).join('  '))).toEqual(states.map((s) => `${path.basename(s.stateDir)}  pid ${s.pid}  uuid ${s.uuid ?? ''}  agent ${s.agentId}`));
    const json = JSON.parse((await cli('lab', 'status', '--state-dir', root, '--json')).out) as { running: boolean; fleet: { name: string; status: { running: boolean } }[] };
    expect(json.running).toBe(false);
    expect(json.fleet.map((v) => [v.name, v.status.running])).toEqual([
      ['vm-01', true],
      ['vm-02', true],
    ]);
  });

  it('`lab down` stops the fleet, says which VMs it stopped, and leaves no QEMU running', async () => {
    const r = await cli('lab', 'down', '--state-dir', root);
    expect(r).toMatchObject({ code: 0, out: 'lab fleet: stopped 2 VMs: vm-01, vm-02\n' });
    for (const s of states) expect(isSameProcessAlive(s.pid, s.pidStartTicks)).toBe(false);
    expect(await cli('lab', 'status', '--state-dir', root)).toMatchObject({ code: 0, out: 'not running\n' });
    expect(await cli('lab', 'down', '--state-dir', root)).toMatchObject({ code: 0, out: 'no lab VM was running\n' });
  }, 60_000);
});
