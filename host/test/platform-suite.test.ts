/**
 * runPlatformSuite (the scenario v2 executor) against the OCloudView simulator
 * on a real libvirtd, with the lab guest (our agent and qemu-ga inside) as the
 * model: a suite written as YAML creates a desk pool, starts it, waits for it
 * and for the agents, types into every VM, runs commands through qemu-ga,
 * binds a user, reads display details, narrows the VMs, shuts down and
 * deletes the pool, leaving no domain; the other platform actions as steps
 * (disable/enable, vmStatus, a forced reboot with typing before and after it,
 * deleting a VM). Then the failures: a VM the platform
 * refuses to start (SimFaults.batchError) fails that step naming it and skips
 * everything but the `always: true` cleanup (exit 3: nothing verified); a
 * command with the wrong exit code fails its step naming the VM and skips the
 * rest but the cleanup (exit 1: the guest was checked); a stop signal
 * interrupts the running step and still runs the cleanup (exit 3). One
 * template for the file; at most two clones run at once. Last, the pure parts:
 * the registries cover the schema, PowerShell encoding, merging the blocks'
 * fleets, exit codes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_STEP_ACTIONS, VDI_ACTIONS, type FleetSummary, type PlatformStepResult, type RunEvent, type VmOutcome } from '@atp/protocol';
import type { EffectivePlatform } from '../src/config/platforms-file.js';
import { AgentHub } from '../src/hub/index.js';
import { powershellArgv, runPlatformSuite, RUN_STEP_HANDLERS, VDI_ACTION_HANDLERS, type PlatformSuiteResult } from '../src/run/index.js';
import { mergeBlockFleets, platformExitCode } from '../src/run/platform/index.js';
import { buildFleetSummary } from '../src/report/index.js';
import { parseAnySuiteText, type LoadedSuiteV2 } from '../src/scenario/index.js';
import { createPoolAndWait, OCloudClient, POOL_TYPE } from '../src/vdi/index.js';
import { startSimulator, type Simulator } from '../src/vdi-sim/index.js';
import { cloneConsole, defineSimTemplate, type SimTemplate } from './support/vdi-sim-lab.js';

const run = promisify(execFile);
/** The libvirt suite lock may be held by another file for its whole run, and the lab image may need building. */
const SETUP_MS = 900_000;
const TEST_MS = 900_000;
/** Platform tasks and boots on a shared 2-core TCG host: generous, named in each step. */
const TASK_MS = 300_000;

describe('runPlatformSuite on the simulated platform (real libvirtd, lab guests)', () => {
  let template: SimTemplate | undefined;
  let sim: Simulator | undefined;
  let client: OCloudClient;
  let platform: EffectivePlatform;
  let dir = '';
  let stateDir = '';
  let token = '';

  beforeAll(async () => {
    template = await defineSimTemplate({ boot: true });
    const xml = await template.client.rawDomainXml(template.name);
    token = /atp\.token=([^\s<]+)/.exec(xml)?.[1] ?? '';
    if (token === '') throw new Error(`no atp.token= on the template's kernel command line:\n${xml}`);
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-platform-suite-'));
    stateDir = path.join(dir, 'state');
    sim = await startSimulator({ models: [template.name], stateDir });
    client = new OCloudClient({ baseUrl: sim.url, username: 'admin', password: 'admin123' });
    platform = { name: 'sim', url: sim.url, username: 'admin', password: { kind: 'env', name: 'ATP_UNUSED_PLATFORM_PASSWORD' }, timeoutMs: undefined, hosts: {} };
  }, SETUP_MS);

  afterAll(async () => {
    await client?.logout().catch(() => undefined);
    await sim?.close();
    await template?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, TEST_MS);

  const tag = (): string => `ps${randomBytes(3).toString('hex')}`;
  const virshNames = async (): Promise<string[]> =>
    (await run('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name'], { env: { ...process.env, LC_ALL: 'C' } })).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);

  function load(yaml: string): LoadedSuiteV2 {
    const loaded = parseAnySuiteText(yaml, 'platform-suite.yaml');
    if (loaded.version !== 2) throw new Error('expected a version 2 suite');
    return loaded;
  }

  interface Ran extends PlatformSuiteResult {
    lines: string[];
    events: RunEvent[];
    /** Everything a failure message needs: the step rows, the log and the clones' consoles. */
    detail: string;
  }

  async function runSuite(suite: LoadedSuiteV2, prefix: string, onLine?: (line: string) => void, signal?: AbortSignal): Promise<Ran> {
    const lines: string[] = [];
    const events: RunEvent[] = [];
    const hub = await AgentHub.create({ auth: { tokens: [token] } });
    const t0 = performance.now();
    try {
      const result = await runPlatformSuite({
        suite,
        client,
        platform,
        token,
        hub,
        location: { configDir: path.join(dir, 'config') },
        version: '0.0.0-test',
        ...(signal === undefined ? {} : { signal }),
        log: (line) => {
          lines.push(line);
          onLine?.(line);
        },
        onEvent: (e) => events.push(e),
      });
      console.log(`platform suite ${suite.scenario.name}: exit ${result.exitCode} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const consoles = await Promise.all([1, 2].map(async (i) => `--- ${prefix}-${i} console:\n${await cloneConsole(path.join(stateDir, `${prefix}-${i}`))}`));
      const detail = `steps:\n${JSON.stringify(result.report.steps, null, 1)}\nlog:\n${lines.join('\n')}\n${consoles.join('\n')}`;
      return { ...result, lines, events, detail };
    } finally {
      await hub.close();
    }
  }

  const summary = (steps: readonly PlatformStepResult[] | undefined): [number, string, string][] => (steps ?? []).map((s) => [s.step, s.action, s.outcome]);

  it(
    'creates a pool of two, starts it, types and runs commands on both VMs, binds a user, narrows, shuts down and deletes it: exit 0, nothing left',
    async () => {
      const t = tag();
      const prefix = `${t}d`;
      const suite = load(`
version: 2
name: pool-life
target:
  platform: sim
  pool: \${pool.name}
observer: agent
defaults:
  timeoutMs: 30000
steps:
  - name: create the pool
    as: pool
    vdi: { createPool: { name: ${t}-pool, model: ${template?.name ?? ''}, amount: 2, prefix: ${prefix}, timeoutMs: ${TASK_MS} } }
  - vdi: { start: { on: { pool: '\${pool.name}' }, timeoutMs: ${TASK_MS} } }
  - waitFor: { poolStatus: { pool: '\${pool.id}', status: running }, timeoutMs: ${TASK_MS}, pollMs: 500 }
  - waitFor: { agentConnected: true, timeoutMs: ${TASK_MS} }
  - type: hello
  - expect: { keys: exact }
  - as: probe
    exec: { command: [/bin/sh, -c, echo ok], expectOutput: '^ok\\s*$', timeoutMs: 120000 }
  - vdi: { bindUser: { on: { vms: [${prefix}-1] }, user: user01 } }
  - as: conn
    vdi: { connectionInfo: { user: user01 } }
  - select: { vms: '\${conn.vms}' }
  - exec: { command: [/bin/sh, -c, 'echo "\${probe.exitCodes}"'], expectOutput: '^0,0\\s*$' }
  - name: stop the pool
    always: true
    vdi: { shutdown: { on: { pool: '\${pool.name}' }, force: true, timeoutMs: ${TASK_MS} } }
  - name: delete the pool
    always: true
    vdi: { deletePool: { pool: '\${pool.name}' } }
`);
      // The SPICE ticket of VM 1 while it runs: it must appear nowhere in the report or the log.
      let ticket: Promise<string> | undefined;
      const ran = await runSuite(suite, prefix, (line) => {
        if (ticket === undefined && /^step 8 vdi: .*: ok/.test(line)) {
          ticket = client.domains().then(async (ds) => (await client.spiceKey(ds.find((d) => d.name === `${prefix}-1`)?.id ?? '')).key ?? '');
        }
      });
      const { report, detail } = ran;

      expect(summary(report.steps), detail).toEqual([
        [0, 'vdi', 'ok'],
        [1, 'vdi', 'ok'],
        [2, 'waitFor', 'ok'],
        [3, 'waitFor', 'ok'],
        [4, 'input', 'ok'],
        [6, 'exec', 'ok'],
        [7, 'vdi', 'ok'],
        [8, 'vdi', 'ok'],
        [9, 'select', 'ok'],
        [10, 'exec', 'ok'],
        [11, 'vdi', 'ok'],
        [12, 'vdi', 'ok'],
      ]);
      expect(ran.exitCode, detail).toBe(0);
      const steps = report.steps ?? [];
      const row = (step: number): PlatformStepResult | undefined => steps.find((s) => s.step === step);
      const names = [`${prefix}-1`, `${prefix}-2`];
      expect(row(0)?.label).toBe('create the pool');
      expect(row(1)?.label).toBe(`start pool ${t}-pool`);
      expect(row(0)?.vms?.map((v) => v.vm)).toEqual(names);
      expect(row(1)?.vms?.map((v) => [v.vm, v.ok])).toEqual(names.map((n) => [n, true]));
      expect(row(3)?.vms?.map((v) => [v.vm, v.ok])).toEqual(names.map((n) => [n, true]));
      // Both VMs answered the first command; the second went only to the selected (bound) VM and saw both exit codes.
      expect(row(6)?.vms?.map((v) => [v.vm, v.ok, v.detail])).toEqual(names.map((n) => [n, true, 'exit 0, stdout "ok\\n"']));
      expect(row(9)?.vms?.map((v) => v.vm)).toEqual([`${prefix}-1`]);
      expect(row(10)?.vms?.map((v) => [v.vm, v.ok, v.detail])).toEqual([[`${prefix}-1`, true, 'exit 0, stdout "0,0\\n"']]);
      expect(row(7)?.vms).toEqual([{ vm: `${prefix}-1`, ok: true, detail: 'bound to user01' }]);
      expect(row(8)?.vms?.[0]?.detail).toMatch(/^127\.0\.0\.1 spice \d+ vnc \d+$/);
      expect(row(11)?.vms?.map((v) => [v.vm, v.ok])).toEqual(names.map((n) => [n, true]));

      // One suite report per VM for the block, named after the block's steps, and the fleet of the two.
      expect(report.suites.map((s) => [s.name, s.target.vm, s.verdict]).sort()).toEqual(names.map((n) => ['pool-life · steps 4–5', n, 'pass']));
      expect(report.fleet).toMatchObject({ passed: 2, failed: 0, infraError: 0, notRun: 0 });
      expect(report.fleet?.vms.map((v) => [v.vm, v.outcome]).sort()).toEqual(names.map((n) => [n, 'passed']));

      // The block's run events, renumbered as one stream.
      expect(ran.events.map((e) => e.seq)).toEqual(ran.events.map((_, i) => i));
      expect(new Set(ran.events.map((e) => e.runId)).size).toBe(1);
      expect(ran.events.filter((e) => e.type === 'suite-finished').map((e) => (e.type === 'suite-finished' ? [e.target, e.verdict] : [])).sort()).toEqual(names.map((n) => [n, 'pass']));
      // One log line when each step starts and one when it ends.
      expect(ran.lines.filter((l) => /^step 1 vdi: start pool .*: (started|ok in \d+\.\d s)$/.test(l))).toHaveLength(2);
      expect(ran.lines.filter((l) => /^steps 4–5 input: input: type "hello", expect keys exact: (started|ok in)/.test(l))).toHaveLength(2);

      const key = await ticket;
      expect(key, 'the SPICE ticket was read while the VM ran').toMatch(/^\S{8,}$/);
      expect(JSON.stringify(report)).not.toContain(key);
      expect(ran.lines.join('\n')).not.toContain(key);

      expect((await virshNames()).filter((n) => n.startsWith(prefix))).toEqual([]);
      expect((await client.pools()).map((p) => p.name)).not.toContain(`${t}-pool`);
    },
    TEST_MS,
  );

  it(
    'the other platform actions as steps: disable/enable the pool, vmStatus, a forced reboot and typing again once the agent is back, delete the VM: exit 0',
    async () => {
      const t = tag();
      const prefix = `${t}r`;
      const vm = `${prefix}-1`;
      const suite = load(`
version: 2
name: pool-reboot
target: { platform: sim, pool: '\${pool.name}' }
observer: agent
defaults: { timeoutMs: 30000 }
steps:
  - as: pool
    vdi: { createPool: { name: ${t}-pool, model: ${template?.name ?? ''}, amount: 1, prefix: ${prefix}, timeoutMs: ${TASK_MS} } }
  - vdi: { disablePool: { pool: '\${pool.name}' } }
  - vdi: { enablePool: { pool: '\${pool.id}' } }
  - vdi: { start: { on: { vms: [${vm}] }, timeoutMs: ${TASK_MS} } }
  - waitFor: { vmStatus: { vm: ${vm}, status: running }, timeoutMs: ${TASK_MS}, pollMs: 500 }
  - waitFor: { agentConnected: true, timeoutMs: ${TASK_MS} }
  - type: before
  - expect: { keys: exact }
  - vdi: { reboot: { on: { pool: '\${pool.name}' }, force: true, timeoutMs: ${TASK_MS} } }
  - waitFor: { poolStatus: { pool: '\${pool.name}', status: running }, timeoutMs: ${TASK_MS}, pollMs: 500 }
  - waitFor: { agentConnected: true, timeoutMs: ${TASK_MS} }
  - type: after
  - expect: { keys: exact }
  - vdi: { delete: { on: { vms: [${vm}] } } }
  - always: true
    vdi: { deletePool: { pool: ${t}-pool } }
`);
      const ran = await runSuite(suite, prefix);
      const { report, detail } = ran;
      expect(summary(report.steps), detail).toEqual([
        [0, 'vdi', 'ok'],
        [1, 'vdi', 'ok'],
        [2, 'vdi', 'ok'],
        [3, 'vdi', 'ok'],
        [4, 'waitFor', 'ok'],
        [5, 'waitFor', 'ok'],
        [6, 'input', 'ok'],
        [8, 'vdi', 'ok'],
        [9, 'waitFor', 'ok'],
        [10, 'waitFor', 'ok'],
        [11, 'input', 'ok'],
        [13, 'vdi', 'ok'],
        [14, 'vdi', 'ok'],
      ]);
      expect(ran.exitCode, detail).toBe(0);
      // One suite per block, both on the one VM: typing before and after the reboot each arrived exactly.
      expect(report.suites.map((s) => [s.name, s.target.vm, s.verdict]), detail).toEqual([
        ['pool-reboot · steps 6–7', vm, 'pass'],
        ['pool-reboot · steps 11–12', vm, 'pass'],
      ]);
      expect(report.steps?.find((s) => s.step === 8)?.vms?.map((v) => [v.vm, v.ok])).toEqual([[vm, true]]);
      expect((await virshNames()).filter((n) => n.startsWith(prefix))).toEqual([]);
      expect((await client.pools()).map((p) => p.name)).not.toContain(`${t}-pool`);
    },
    TEST_MS,
  );

  it(
    'a VM the platform refuses to start fails that step naming it; the rest is skipped but the always: true cleanup, which runs (exit 3)',
    async () => {
      const t = tag();
      const prefix = `${t}f`;
      const created = await createPoolAndWait(client, { name: `${t}-pool`, amount: 2, type: POOL_TYPE.dedicated, modelId: (await client.models())[0]?.id ?? '', domainPrefix: prefix }, { deadlineMs: TASK_MS });
      const refused = created.domains.find((d) => d.name === `${prefix}-1`);
      if (refused === undefined) throw new Error(`pool ${t}-pool has no ${prefix}-1`);
      sim?.faults.batchError(refused.id, 'simulated refusal: no licence left');
      const suite = load(`
version: 2
name: refused-start
target: { platform: sim, pool: ${t}-pool }
observer: agent
steps:
  - vdi: { start: { on: { pool: ${t}-pool }, timeoutMs: ${TASK_MS} } }
  - waitFor: { poolStatus: { pool: ${t}-pool, status: running }, timeoutMs: ${TASK_MS} }
  - waitFor: { agentConnected: true, timeoutMs: ${TASK_MS} }
  - type: never typed
  - expect: { keys: exact }
  - exec: { command: [/bin/true] }
  - vdi: { deletePool: { pool: ${t}-pool } }
  - always: true
    vdi: { shutdown: { on: { pool: ${t}-pool }, force: true, timeoutMs: ${TASK_MS} } }
  - always: true
    vdi: { deletePool: { pool: ${t}-pool } }
`);
      const ran = await runSuite(suite, prefix);
      const { report, detail } = ran;
      expect(summary(report.steps), detail).toEqual([
        [0, 'vdi', 'failed'],
        [1, 'waitFor', 'skipped'],
        [2, 'waitFor', 'skipped'],
        [3, 'input', 'skipped'],
        [5, 'exec', 'skipped'],
        [6, 'vdi', 'skipped'],
        [7, 'vdi', 'ok'],
        [8, 'vdi', 'ok'],
      ]);
      const start = report.steps?.[0];
      expect(start?.error?.code).toBe('ATP_VDI_TASK');
      expect(start?.error?.message).toContain(`${prefix}-1`);
      expect(start?.error?.message).toContain('simulated refusal: no licence left');
      expect(start?.error?.message).not.toContain(`${prefix}-2`);
      expect(start?.vms?.map((v) => [v.vm, v.ok])).toEqual([
        [`${prefix}-1`, false],
        [`${prefix}-2`, true],
      ]);
      // The cleanup left the refused VM alone (never started) and stopped the other.
      expect(report.steps?.[6]?.vms?.map((v) => [v.vm, v.ok, v.detail])).toEqual([
        [`${prefix}-1`, true, 'already 0 (shut off)'],
        [`${prefix}-2`, true, '0 (shut off)'],
      ]);
      expect(report.suites).toEqual([]);
      expect(report.fleet).toBeUndefined();
      expect(ran.exitCode, detail).toBe(3);
      expect(ran.lines).toContain(`step 1 waitFor: waitFor pool ${t}-pool running (≤ ${TASK_MS / 1000} s): skipped`);
      expect((await virshNames()).filter((n) => n.startsWith(prefix))).toEqual([]);
      expect((await client.pools()).map((p) => p.name)).not.toContain(`${t}-pool`);
    },
    TEST_MS,
  );

  it(
    'a command that exits with another code than expected fails its step naming the VM; later steps are skipped but the cleanup (exit 1)',
    async () => {
      const t = tag();
      const prefix = `${t}x`;
      const suite = load(`
version: 2
name: wrong-exit
target: { platform: sim, pool: '\${pool.name}' }
observer: agent
steps:
  - as: pool
    vdi: { createPool: { name: ${t}-pool, model: ${template?.name ?? ''}, amount: 1, prefix: ${prefix} } }
  - vdi: { start: { on: '\${pool.name}', timeoutMs: ${TASK_MS} } }
  - waitFor: { agentConnected: true, timeoutMs: ${TASK_MS} }
  - exec: { command: [/bin/sh, -c, 'echo nearly; exit 3'], expectExit: 0, timeoutMs: 120000 }
  - exec: { command: [/bin/true] }
  - type: not reached
  - always: true
    vdi: { shutdown: { on: '\${pool.name}', force: true, timeoutMs: ${TASK_MS} } }
  - always: true
    vdi: { deletePool: { pool: '\${pool.id}' } }
`);
      const ran = await runSuite(suite, prefix);
      const { report, detail } = ran;
      expect(summary(report.steps), detail).toEqual([
        [0, 'vdi', 'ok'],
        [1, 'vdi', 'ok'],
        [2, 'waitFor', 'ok'],
        [3, 'exec', 'failed'],
        [4, 'exec', 'skipped'],
        [5, 'input', 'skipped'],
        [6, 'vdi', 'ok'],
        [7, 'vdi', 'ok'],
      ]);
      const failed = report.steps?.[3];
      expect(failed?.vms).toEqual([{ vm: `${prefix}-1`, ok: false, detail: 'exit 3, stdout "nearly\\n" (expected exit 0)' }]);
      expect(failed?.error?.message).toContain(`${prefix}-1: exit 3`);
      expect(failed?.error?.code).toBe('ATP_RUN_EXEC_CHECK');
      expect(report.suites).toEqual([]);
      expect(ran.exitCode, detail).toBe(1);
      expect((await virshNames()).filter((n) => n.startsWith(prefix))).toEqual([]);
      expect((await client.pools()).map((p) => p.name)).not.toContain(`${t}-pool`);
    },
    TEST_MS,
  );

  it(
    'a stop signal interrupts the running step and skips the rest, but the always: true cleanup still runs (exit 3)',
    async () => {
      const t = tag();
      const prefix = `${t}s`;
      await createPoolAndWait(client, { name: `${t}-pool`, amount: 1, type: POOL_TYPE.dedicated, modelId: (await client.models())[0]?.id ?? '', domainPrefix: prefix }, { deadlineMs: TASK_MS });
      const suite = load(`
version: 2
name: stopped
target: { platform: sim, pool: ${t}-pool }
observer: agent
steps:
  - name: wait for a pool nobody starts
    waitFor: { poolStatus: { pool: ${t}-pool, status: running }, timeoutMs: ${TASK_MS}, pollMs: 200 }
  - type: never typed
  - always: true
    vdi: { deletePool: { pool: ${t}-pool } }
`);
      const stop = new AbortController();
      const ran = await runSuite(suite, prefix, (line) => {
        if (line.endsWith(': started') && line.startsWith('step 0 ')) setTimeout(() => stop.abort(), 1000);
      }, stop.signal);
      const { report, detail } = ran;
      expect(summary(report.steps), detail).toEqual([
        [0, 'waitFor', 'failed'],
        [1, 'input', 'skipped'],
        [2, 'vdi', 'ok'],
      ]);
      expect(report.steps?.[0]?.error?.code).toBe('ATP_RUN_ABORTED');
      expect(report.steps?.[0]?.durationMs).toBeLessThan(TASK_MS / 2);
      expect(ran.exitCode).toBe(3);
      expect((await client.pools()).map((p) => p.name)).not.toContain(`${t}-pool`);
    },
    TEST_MS,
  );

});

describe('platform suite registries and outcome (pure)', () => {
  it('has a handler for every run step action and every vdi action of the schema', () => {
    expect(Object.keys(RUN_STEP_HANDLERS).sort()).toEqual([...RUN_STEP_ACTIONS].sort());
    expect(Object.keys(VDI_ACTION_HANDLERS).sort()).toEqual([...VDI_ACTIONS].sort());
  });

  it('sends a PowerShell script as -EncodedCommand: base64 of its UTF-16LE bytes', () => {
    const script = 'Get-Date; "ü ok"';
    const argv = powershellArgv(script);
    expect(argv.slice(0, 4)).toEqual(['powershell.exe', '-NoProfile', '-NonInteractive', '-EncodedCommand']);
    expect(Buffer.from(argv[4] ?? '', 'base64').toString('utf16le')).toBe(script);
  });

  const fleet = (vms: [string, VmOutcome, number][]): FleetSummary =>
    buildFleetSummary({ targets: vms.map(([vm, outcome, rounds]) => ({ vm, outcome, rounds, ...(outcome === 'infra-error' ? { error: { code: 'ATP_RUN_TARGET', message: `${vm} broke` } } : {}) })), suites: [], concurrency: vms.length, onFailure: 'continue', wallMs: 1000 });

  it("merges the blocks per VM: the worst outcome wins, rounds only when every block finished, the worst block's error", () => {
    const merged = mergeBlockFleets([
      { fleet: fleet([['a', 'passed', 1], ['b', 'failed', 1], ['c', 'passed', 1]]), suites: [], wallMs: 1000 },
      { fleet: fleet([['a', 'infra-error', 0], ['b', 'passed', 1]]), suites: [], wallMs: 3000, notRunning: [{ vm: 'c', error: { code: 'ATP_RUN_TARGET', message: 'c is not running' } }] },
    ]);
    expect(merged?.vms.map((v) => [v.vm, v.outcome, v.rounds, v.error?.message])).toEqual([
      ['a', 'infra-error', 0, 'a broke'],
      ['b', 'failed', 1, undefined],
      ['c', 'not-run', 0, 'c is not running'],
    ]);
    expect(merged).toMatchObject({ passed: 0, failed: 1, infraError: 1, notRun: 1, concurrency: 3 });
    expect(mergeBlockFleets([])).toBeUndefined();
  });

  it('exits 0 when all is ok, 1 when something verified failed, 3 when nothing was verified or the run was stopped', () => {
    const ok: PlatformStepResult = { step: 0, action: 'vdi', label: 'x', outcome: 'ok', durationMs: 1 };
    const failed: PlatformStepResult = { ...ok, outcome: 'failed' };
    const skipped: PlatformStepResult = { ...ok, outcome: 'skipped' };
    const passedFleet = fleet([['a', 'passed', 1]]);
    expect(platformExitCode({ steps: [ok], fleet: passedFleet, verified: true, aborted: false })).toBe(0);
    expect(platformExitCode({ steps: [ok], fleet: undefined, verified: false, aborted: false })).toBe(0);
    expect(platformExitCode({ steps: [ok, failed, skipped], fleet: passedFleet, verified: true, aborted: false })).toBe(1);
    expect(platformExitCode({ steps: [ok], fleet: fleet([['a', 'passed', 1], ['b', 'failed', 1]]), verified: true, aborted: false })).toBe(1);
    expect(platformExitCode({ steps: [failed, skipped], fleet: undefined, verified: false, aborted: false })).toBe(3);
    expect(platformExitCode({ steps: [ok], fleet: passedFleet, verified: true, aborted: true })).toBe(3);
  });
});
