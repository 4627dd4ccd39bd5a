/**
 * `atp-host vdi hosts|vms|pools|models|users list`, `vdi pool …` and
 * `vdi vm …` against the OCloudView simulator over real HTTP, the simulator
 * driving a real libvirtd with the lab template as its model, the platform
 * added with `atp-host platform add` (password from an environment variable).
 * Covers each command's table and --json, the --platform choice, the
 * progress lines of a start (one per VM), usage errors listing what exists
 * (exit 2), and VMs that fail (a batch refusal, a VM that never runs: exit 1
 * naming each; on a terminal a count redrawn in place). Two VMs boot in this file (pool A), shared by the tests in
 * order; pool B's VMs never boot.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerVdiVmCommands } from '../src/cli/vdi-vm.js';
import { startSimulator, type Simulator, type SimSeed } from '../src/vdi-sim/index.js';
import { atpHost, jsonOf, tableOf, type CliRun } from './support/vdi-cli-run.js';
import { defineSimTemplate, type SimTemplate } from './support/vdi-sim-lab.js';

const LONG = 300_000;
/** The libvirt suite lock may be held by another file for its whole run. */
const LOCK_AND_START = 600_000 + LONG;
const PASSWORD_ENV = 'ATP_VDI_CLI_TEST_PASSWORD';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const TOP = 'OU=atp,DC=atp,DC=local';
const LAB = `OU=lab,${TOP}`;
const OFFICE = `OU=office,${TOP}`;
const SEED: SimSeed = {
  admin: { username: 'admin', password: PASSWORD },
  ous: [{ ou: 'atp', distinguishedName: TOP, children: [{ ou: 'lab', distinguishedName: LAB }, { ou: 'office', distinguishedName: OFFICE }] }],
  users: [
    { sAMAccountName: 'alice', displayName: 'Alice A', password: 'x', ou: 'atp' },
    { sAMAccountName: 'bob', displayName: 'Bob B', password: 'x', ou: 'lab' },
    { sAMAccountName: 'dave', displayName: 'Dave D', password: 'x', ou: 'lab' },
    { sAMAccountName: 'carol', displayName: 'Carol C', password: 'x', ou: 'office' },
  ],
};

interface VmJson {
  id: string;
  name: string;
  status: number;
  statusText: string;
  poolName?: string;
  userName?: string;
}
interface ResultJson {
  id: string;
  name: string;
  ok: boolean;
  status?: number;
  statusText: string;
  note?: string;
  error?: { code: string; message: string };
}

describe('atp-host vdi commands on the simulator', () => {
  let template: SimTemplate | undefined;
  let sim: Simulator | undefined;
  let dir = '';
  let config = '';
  let stateDir = '';
  const tag = randomBytes(3).toString('hex');
  const poolA = `cli-a-${tag}`;
  const poolB = `cli-b-${tag}`;
  const preA = `vcla${tag}`;
  const preB = `vclb${tag}`;
  const ids = new Map<string, string>();

  const tpl = (): SimTemplate => {
    if (template === undefined) throw new Error('no template (see beforeAll)');
    return template;
  };
  const theSim = (): Simulator => {
    if (sim === undefined) throw new Error('no simulator (see beforeAll)');
    return sim;
  };
  /** `atp-host ARGS --config-dir CONFIG`. */
  const cli = (...argv: string[]): Promise<CliRun> => atpHost(...argv, '--config-dir', config);
  const ok = (run: CliRun): CliRun => {
    expect(run.code, `exit ${run.code}\nstdout:\n${run.out}\nstderr:\n${run.err}`).toBe(0);
    return run;
  };
  /** Table rows (header excluded), empty cells kept. */
  const rows = (out: string): string[][] => tableOf(out).rows;
  const id = (vm: string): string => {
    const found = ids.get(vm);
    if (found === undefined) throw new Error(`no id for ${vm}`);
    return found;
  };
  const libvirtNames = async (): Promise<string[]> => (await tpl().client.listDomains()).map((d) => d.name);

  beforeAll(async () => {
    template = await defineSimTemplate({ boot: true });
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vdi-cli-'));
    config = path.join(dir, 'config');
    stateDir = path.join(dir, 'state');
    sim = await startSimulator({ models: [template.name], stateDir, seed: SEED });
    process.env[PASSWORD_ENV] = PASSWORD;
    ok(await cli('platform', 'add', 'sim', '--url', sim.url, '--username', 'admin', '--password-env', PASSWORD_ENV));
  }, LOCK_AND_START);

  afterAll(async () => {
    await sim?.close();
    await template?.remove();
    delete process.env.ATP_VDI_CLI_TEST_PASSWORD;
    if (dir) await rm(dir, { recursive: true, force: true });
  }, LONG);

  it('lists hosts and models as tables and JSON; --platform may be left out when there is one platform', async () => {
    const hosts = ok(await cli('vdi', 'hosts', 'list'));
    expect(hosts.out.split('\n')[0]).toMatch(/^HOST\s+IP\s+STATUS\s+RUNNING VMS\s+ARCH\s+ID$/);
    expect(rows(hosts.out)).toEqual([[expect.any(String), '127.0.0.1', 'enabled', '0', expect.any(String), expect.any(String)]]);
    const hj = jsonOf<{ platform: string; hosts: { ip: string; status: number }[] }>(ok(await cli('vdi', 'hosts', 'list', '--platform', 'sim', '--json')));
    expect(hj).toMatchObject({ platform: 'sim', hosts: [{ ip: '127.0.0.1', status: 1 }] });

    const models = ok(await cli('vdi', 'models', 'list'));
    expect(models.out.split('\n')[0]).toMatch(/^MODEL\s+STATUS\s+CPUS\s+MEMORY MIB\s+CLONES\s+ID$/);
    expect(rows(models.out)).toEqual([[tpl().name, 'shut-off', expect.stringMatching(/^\d+$/), '384', '0', expect.any(String)]]);
    const mj = jsonOf<{ models: { name: string; isModel: number; id: string }[] }>(ok(await cli('vdi', 'models', 'list', '--json')));
    expect(mj.models).toEqual([expect.objectContaining({ name: tpl().name, isModel: 1 })]);
    ids.set('model', mj.models[0]?.id ?? '');
  });

  it('refuses a missing or unknown platform with exit 2, listing the platforms', async () => {
    const two = path.join(dir, 'two');
    for (const name of ['east', 'west']) ok(await atpHost('platform', 'add', name, '--url', 'http://127.0.0.1:9', '--username', 'u', '--config-dir', two));
    const choice = await atpHost('vdi', 'pools', 'list', '--config-dir', two);
    expect(choice.code).toBe(2);
    expect(choice.err).toMatch(/ATP_VDI_PLATFORM_CHOICE: give --platform NAME: .*platforms\.yaml has 2 platforms: east, west/);
    const none = await atpHost('vdi', 'vms', 'list', '--config-dir', path.join(dir, 'none'));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/ATP_VDI_PLATFORM_CHOICE: .*has no platforms \(atp-host platform add/);
    const unknown = await cli('vdi', 'hosts', 'list', '--platform', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/ATP_CONFIG_PLATFORM_UNKNOWN: .*no platform named 'nope' \(known: sim/);
    expect(unknown.out).toBe('');
  });

  it('lists the users of every unit of the group tree once each, or of one unit; an unknown unit lists the units', async () => {
    const all = ok(await cli('vdi', 'users', 'list'));
    expect(all.out.split('\n')[0]).toMatch(/^USER\s+NAME\s+OU\s+ID$/);
    const table = rows(all.out).map((r) => r.slice(0, 3));
    expect(table.sort()).toEqual([
      ['alice', 'Alice A', TOP],
      ['bob', 'Bob B', LAB],
      ['carol', 'Carol C', OFFICE],
      ['dave', 'Dave D', LAB],
    ]);
    const lab = jsonOf<{ group: string; users: { sAMAccountName: string; ou: string }[] }>(ok(await cli('vdi', 'users', 'list', '--group', LAB, '--json')));
    expect(lab.group).toBe(LAB);
    expect(lab.users.map((u) => [u.sAMAccountName, u.ou]).sort()).toEqual([
      ['bob', LAB],
      ['dave', LAB],
    ]);
    const bad = await cli('vdi', 'users', 'list', '--group', 'OU=nowhere,DC=x');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`ATP_VDI_GROUP_UNKNOWN: no organisation unit "OU=nowhere,DC=x" (units: ${TOP}, ${LAB}, ${OFFICE})`);
  });

  it('creates desk pools (by model name and by id), lists, disables and enables them; bad input exits 2 naming what exists', async () => {
    const a = ok(await cli('vdi', 'pool', 'create', poolA, '--model', tpl().name, '--amount', '2', '--prefix', preA, '--timeout', '120'));
    expect(a.err).toMatch(new RegExp(`^vdi pool create: ${poolA}: 2 VMs from model ${tpl().name}; waiting up to 120\\.0 s`));
    expect(a.err).toMatch(new RegExp(`vdi pool create: ${poolA}: created in \\d+\\.\\d s`));
    const [poolTable, vmTable] = a.out.split('\n\n') as [string, string];
    expect(rows(poolTable)).toEqual([[poolA, 'dedicated', '2', '0', 'yes', tpl().name, expect.any(String)]]);
    expect(rows(vmTable).map((r) => r.slice(0, 3))).toEqual([
      [`${preA}-1`, 'shut-off', poolA],
      [`${preA}-2`, 'shut-off', poolA],
    ]);

    const b = jsonOf<{ pool: { name: string; type: number; remark: string }; vms: VmJson[] }>(
      ok(await cli('vdi', 'pool', 'create', poolB, '--model', ids.get('model') ?? '', '--amount', '2', '--prefix', preB, '--type', 'shared', '--remark', 'cli test', '--json')),
    );
    expect(b.pool).toMatchObject({ name: poolB, type: 1, remark: 'cli test' });
    expect(b.vms.map((v) => [v.name, v.status, v.statusText, v.poolName])).toEqual([
      [`${preB}-1`, 0, 'shut-off', poolB],
      [`${preB}-2`, 0, 'shut-off', poolB],
    ]);

    const unknownModel = await cli('vdi', 'pool', 'create', `x-${tag}`, '--model', 'no-such-template', '--amount', '1');
    expect(unknownModel.code).toBe(2);
    expect(unknownModel.err).toContain(`ATP_VDI_MODEL_UNKNOWN: no model named or with id "no-such-template" (models: ${tpl().name})`);
    for (const [flag, value] of [['--amount', '0'], ['--type', 'private'], ['--timeout', '-1']] as const) {
      const bad = await cli('vdi', 'pool', 'create', `x-${tag}`, '--model', tpl().name, '--amount', '1', flag, value);
      expect(bad.code, bad.err).toBe(2);
      expect(bad.err).toMatch(new RegExp(`ATP_SCHEMA_INVALID: ${flag} "${value}": expected`));
    }

    const listed = ok(await cli('vdi', 'pools', 'list'));
    expect(listed.out.split('\n')[0]).toMatch(/^POOL\s+TYPE\s+VMS\s+BOUND\s+ENABLED\s+MODEL\s+ID$/);
    expect(rows(listed.out).map((r) => r.slice(0, 5))).toEqual([
      [poolA, 'dedicated', '2', '0', 'yes'],
      [poolB, 'shared', '2', '0', 'yes'],
    ]);
    expect(ok(await cli('vdi', 'pool', 'disable', poolA)).out).toMatch(new RegExp(`^disabled desk pool ${poolA} \\(`));
    const enabled = async (): Promise<number[]> => jsonOf<{ pools: { enabled: number }[] }>(ok(await cli('vdi', 'pools', 'list', '--json'))).pools.map((p) => p.enabled);
    expect(await enabled()).toEqual([0, 1]);
    expect(jsonOf<{ done: string }>(ok(await cli('vdi', 'pool', 'enable', poolA, '--json')))).toMatchObject({ done: 'enabled', pool: { name: poolA } });
    expect(await enabled()).toEqual([1, 1]);
  });

  it('lists VMs: all, of a pool, by status; an unknown pool exits 2 listing the pools', async () => {
    const all = ok(await cli('vdi', 'vms', 'list'));
    expect(all.out.split('\n')[0]).toMatch(/^VM\s+STATUS\s+POOL\s+HOST\s+USER\s+ID$/);
    const table = rows(all.out);
    expect(table.map((r) => [r[0], r[1], r[2]])).toEqual([
      [`${preA}-1`, 'shut-off', poolA],
      [`${preA}-2`, 'shut-off', poolA],
      [`${preB}-1`, 'shut-off', poolB],
      [`${preB}-2`, 'shut-off', poolB],
    ]);
    for (const r of table) ids.set(r[0] ?? '', r[5] ?? '');
    const ofB = jsonOf<{ pool: string; vms: VmJson[] }>(ok(await cli('vdi', 'vms', 'list', '--pool', poolB, '--json')));
    expect(ofB.vms.map((v) => v.name)).toEqual([`${preB}-1`, `${preB}-2`]);
    expect(ofB.vms.map((v) => v.id)).toEqual([id(`${preB}-1`), id(`${preB}-2`)]);
    expect(ok(await cli('vdi', 'vms', 'list', '--status', 'running')).out.trimEnd().split('\n')).toHaveLength(1);
    expect(rows(ok(await cli('vdi', 'vms', 'list', '--pool', poolA, '--status', 'shut-off,running')).out)).toHaveLength(2);

    const unknown = await cli('vdi', 'vms', 'list', '--pool', 'no-pool');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain(`ATP_VDI_POOL_UNKNOWN: no desk pool named or with id "no-pool" (desk pools: ${poolA}, ${poolB})`);
    const badStatus = await cli('vdi', 'vms', 'list', '--status', 'sleeping');
    expect(badStatus.code).toBe(2);
    expect(badStatus.err).toContain('ATP_SCHEMA_INVALID: --status "sleeping": "sleeping" is not a VM status (shut-off, running, suspended');
  });

  it(
    'starts a pool with one progress line per VM, starts it again (already running), reboots one, stops the pool',
    async () => {
      const [vm1, vm2] = [`${preA}-1`, `${preA}-2`];
      const start = ok(await cli('vdi', 'vm', 'start', '--pool', poolA, '--timeout', '180'));
      const lines = start.err.trimEnd().split('\n');
      expect(lines[0]).toBe(`vdi vm start: 2 VMs: ${vm1}, ${vm2}; waiting up to 180.0 s`);
      for (const vm of [vm1, vm2]) expect(lines.filter((l) => l.startsWith(`vdi vm start: ${vm}: `))).toEqual([expect.stringMatching(new RegExp(`^vdi vm start: ${vm}: running after \\d+\\.\\d s \\([12] of 2\\)$`))]);
      expect(lines).toHaveLength(3);
      expect(start.out.split('\n')[0]).toMatch(/^VM\s+RESULT\s+STATUS\s+TIME\s+DETAIL\s+ID$/);
      expect(rows(start.out).map((r) => [r[0], r[1], r[2]])).toEqual([
        [vm1, 'ok', 'running'],
        [vm2, 'ok', 'running'],
      ]);
      for (const vm of [vm1, vm2]) expect(await tpl().client.lookup(id(vm))).toMatchObject({ name: vm, state: 'running' });
      expect(rows(ok(await cli('vdi', 'vms', 'list', '--status', 'running')).out).map((r) => r[0])).toEqual([vm1, vm2]);

      const again = jsonOf<{ command: string; vms: ResultJson[] }>(ok(await cli('vdi', 'vm', 'start', vm1, id(vm2), '--json')));
      expect(again).toMatchObject({ platform: 'sim', command: 'vdi vm start' });
      expect(again.vms.map((r) => [r.name, r.ok, r.statusText, r.note])).toEqual([
        [vm1, true, 'running', 'already running'],
        [vm2, true, 'running', 'already running'],
      ]);

      const reboot = jsonOf<{ vms: ResultJson[] }>(ok(await cli('vdi', 'vm', 'reboot', vm1, '--force', '--json', '--timeout', '120')));
      expect(reboot.vms).toEqual([expect.objectContaining({ id: id(vm1), name: vm1, ok: true, status: 1, statusText: 'running' })]);

      const stop = ok(await cli('vdi', 'vm', 'stop', '--pool', poolA, '--force', '--timeout', '120'));
      for (const vm of [vm1, vm2]) expect(stop.err).toMatch(new RegExp(`^vdi vm stop: ${vm}: shut-off after \\d+\\.\\d s \\([12] of 2\\)$`, 'm'));
      expect(rows(stop.out).map((r) => [r[0], r[1], r[2]])).toEqual([
        [vm1, 'ok', 'shut-off'],
        [vm2, 'ok', 'shut-off'],
      ]);
      const left = await libvirtNames();
      expect(left.filter((n) => n.startsWith(preA))).toEqual([]);
    },
    LONG,
  );

  it('binds a VM to a user found through the group tree; an unknown user or VM exits 2, a VM the platform does not bind exits 1', async () => {
    const bound = ok(await cli('vdi', 'vm', 'bind-user', `${preA}-1`, '--user', 'bob'));
    expect(rows(bound.out)).toEqual([[`${preA}-1`, 'ok', 'bound to bob', '', 'bound to bob', id(`${preA}-1`)]]);
    const listed = jsonOf<{ vms: VmJson[] }>(ok(await cli('vdi', 'vms', 'list', '--pool', poolA, '--json')));
    expect(listed.vms.map((v) => [v.name, v.userName])).toEqual([
      [`${preA}-1`, 'bob'],
      [`${preA}-2`, undefined],
    ]);
    expect(rows(ok(await cli('vdi', 'vms', 'list', '--pool', poolA)).out).map((r) => r[4])).toEqual(['bob', '']);

    const nobody = await cli('vdi', 'vm', 'bind-user', `${preA}-2`, '--user', 'zed');
    expect(nobody.code).toBe(2);
    expect(nobody.err).toContain(`ATP_VDI_USER_UNKNOWN: no user "zed" in the platform's organisation units (users: alice, bob, carol, dave)`);
    const ghost = await cli('vdi', 'vm', 'bind-user', 'ghost-vm', `${preA}-2`, '--user', 'dave');
    expect(ghost.code).toBe(2);
    expect(ghost.err).toContain(`ATP_VDI_VM_UNKNOWN: no VM named or with id "ghost-vm" (VMs: ${preA}-1, ${preA}-2, ${preB}-1, ${preB}-2)`);

    const shared = await cli('vdi', 'vm', 'bind-user', `${preB}-1`, '--user', 'carol');
    expect(shared.code).toBe(1);
    expect(rows(shared.out).map((r) => [r[0], r[1], r[2]])).toEqual([[`${preB}-1`, 'FAILED', 'not bound']]);
    expect(shared.err).toMatch(new RegExp(`ATP_VDI_VMS_FAILED: vdi vm bind-user: 1 of 1 VMs failed: ${preB}-1: the platform did not bind ${preB}-1 to carol`));
  });

  it(
    'a VM the batch refuses and a VM that never runs: exit 1 naming each, the second with its last status',
    async () => {
      const [b1, b2] = [`${preB}-1`, `${preB}-2`];
      theSim().faults.batchError(id(b1), 'injected refusal');
      const refused = await cli('vdi', 'vm', 'start', b1);
      expect(refused.code, refused.err).toBe(1);
      expect(refused.err).toMatch(new RegExp(`^vdi vm start: ${b1}: start of VM ${b1} \\(${id(b1)}\\) refused by the platform: injected refusal$`, 'm'));
      expect(refused.err).toMatch(new RegExp(`ATP_VDI_VMS_FAILED: vdi vm start: 1 of 1 VMs failed: ${b1}: start of VM ${b1} .*injected refusal`));
      expect(rows(refused.out).map((r) => [r[0], r[1]])).toEqual([[b1, 'FAILED']]);

      theSim().faults.neverRunning(id(b2));
      const late = await cli('vdi', 'vm', 'start', b2, '--timeout', '3', '--json');
      expect(late.code, late.err).toBe(1);
      expect(jsonOf<{ vms: ResultJson[] }>(late).vms).toEqual([
        expect.objectContaining({ name: b2, ok: false, status: 0, statusText: 'shut-off', error: expect.objectContaining({ code: 'ATP_VDI_DEADLINE' }) }),
      ]);
      expect(late.err).toMatch(new RegExp(`^vdi vm start: ${b2}: still shut-off after 3\\.0 s \\(wanted running\\)$`, 'm'));
      expect(late.err).toMatch(new RegExp(`ATP_VDI_VMS_FAILED: vdi vm start: 1 of 1 VMs failed: ${b2}: VM ${b2} \\(${id(b2)}\\) is still shut-off after 3\\.0 s; wanted running$`, 'm'));
      expect((await libvirtNames()).filter((n) => n.startsWith(preB))).toEqual([]);

      // On a terminal the same lines come, each clearing a count that is redrawn in place while waiting.
      let err = '';
      const program = new Command('atp-host').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: (t) => void (err += t) });
      registerVdiVmCommands(program.command('vdi'), { out: () => undefined, err: (t) => void (err += t) }, { stderrTty: true });
      const thrown: unknown = await program.parseAsync(['vdi', 'vm', 'start', b2, '--timeout', '2', '--config-dir', config], { from: 'user' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(thrown).toMatchObject({ code: 'ATP_VDI_VMS_FAILED' });
      const redrawn = err.split('\r').filter((part) => part.startsWith('vdi vm start: 0 of 1 running, '));
      expect(redrawn.length).toBeGreaterThan(0);
      for (const part of redrawn) expect(part.replace('\u001b[K', '|')).toMatch(/^vdi vm start: 0 of 1 running, \d+\.\d s\|$/);
      expect(err).toContain(`\r\u001b[Kvdi vm start: ${b2}: still shut-off after 2.0 s (wanted running)\n`);
      expect(err.endsWith('\r\u001b[K')).toBe(true);

      for (const argv of [['vdi', 'vm', 'start'], ['vdi', 'vm', 'stop', b1, '--pool', poolB]]) {
        const bad = await cli(...argv);
        expect(bad.code).toBe(2);
        expect(bad.err).toMatch(/ATP_SCHEMA_INVALID: vdi vm (start: name the VMs|stop: give VM names or --pool POOL, not both)/);
      }
    },
    LONG,
  );

  it('deletes a VM, then both pools; nothing is left in libvirt or the state dir', async () => {
    const del = jsonOf<{ vms: ResultJson[] }>(ok(await cli('vdi', 'vm', 'delete', `${preB}-1`, '--json')));
    expect(del.vms).toEqual([expect.objectContaining({ name: `${preB}-1`, ok: true, note: 'deleted' })]);
    expect(rows(ok(await cli('vdi', 'vms', 'list', '--pool', poolB)).out).map((r) => r[0])).toEqual([`${preB}-2`]);
    expect(ok(await cli('vdi', 'pool', 'delete', poolB)).out).toMatch(new RegExp(`^deleted desk pool ${poolB} \\(\\S+\\) and its 1 VM\\n$`));
    expect(ok(await cli('vdi', 'pool', 'delete', poolA)).out).toMatch(new RegExp(`^deleted desk pool ${poolA} \\(\\S+\\) and its 2 VMs\\n$`));
    expect(jsonOf<{ pools: unknown[] }>(ok(await cli('vdi', 'pools', 'list', '--json'))).pools).toEqual([]);
    expect(ok(await cli('vdi', 'vms', 'list')).out.trimEnd().split('\n')).toHaveLength(1);
    expect((await readdir(stateDir)).filter((f) => f.startsWith(preA) || f.startsWith(preB))).toEqual([]);
    expect((await libvirtNames()).filter((n) => n.startsWith(preA) || n.startsWith(preB))).toEqual([]);
    const again = await cli('vdi', 'pool', 'delete', poolA);
    expect(again.code).toBe(2);
    expect(again.err).toContain(`ATP_VDI_POOL_UNKNOWN: no desk pool named or with id "${poolA}" (desk pools: none)`);
  });
});
