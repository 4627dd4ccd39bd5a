/**
 * A VDI pool's VMs typed into through their display servers, as the platform
 * hands them out: the OCloudView simulator on a real libvirtd, the lab guest
 * (our agent inside) as its model, whose template has a SPICE and a VNC
 * display with password auth (test/support/vdi-sim-lab.ts). A pool of two is
 * created and started once; each test runs a v2 suite over it with
 * runPlatformSuite (the scenario executor `verify` uses).
 *
 * - `target.injector: spice`: both VMs pass with their keys observed exactly;
 *   each suite report says spice; the endpoint came from the platform (its
 *   spice-key was asked for each VM during the run, and the password in the
 *   template's libvirt XML no longer opens the display once the platform set
 *   its ticket); the ticket is in no report, event, log line or output.
 * - `target.injector: vnc`: the same through VNC, with the port list and one
 *   fresh vnc-password per VM (the template's own VNC password is refused).
 * - The SPICE password of one VM changed on the hypervisor behind the
 *   platform's back: that VM is an infrastructure error ATP_SPICE_AUTH, the
 *   other passes, the input step fails naming the error.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError, type PlatformStepResult, type RunEvent } from '@atp/protocol';
import type { EffectivePlatform } from '../src/config/platforms-file.js';
import { linkChannel } from '../src/display/spice/link.js';
import { AgentHub } from '../src/hub/index.js';
import { runPlatformSuite, type PlatformSuiteResult } from '../src/run/index.js';
import { parseAnySuiteText } from '../src/scenario/index.js';
import { createPoolAndWait, OCloudClient, POOL_TYPE, powerAndWait, type DomainVO, type VdiCallLog } from '../src/vdi/index.js';
import { startSimulator, type Simulator } from '../src/vdi-sim/index.js';
import { captureOutput, setDisplayPassword } from './support/platform-display-lab.js';
import { cloneConsole, defineSimTemplate, vncLogin, type SimTemplate } from './support/vdi-sim-lab.js';

/** The libvirt suite lock may be held by another file for its whole run, the lab image may need building, and two TCG guests boot. */
const SETUP_MS = 900_000;
const TEST_MS = 600_000;
/** Platform tasks and boots on a shared 2-core TCG host. */
const TASK_MS = 300_000;
/** What the template's <graphics> say (vdi-sim-lab.ts); the platform replaces both when it hands out its own. */
const LIBVIRT_SPICE_PASSWORD = 'tpl-spice';
const LIBVIRT_VNC_PASSWORD = 'tplvnc';

describe('a desk pool typed into through the platform\'s SPICE and VNC details (simulator, real libvirtd, lab guests)', () => {
  let template: SimTemplate | undefined;
  let sim: Simulator | undefined;
  let client: OCloudClient;
  let platform: EffectivePlatform;
  let dir = '';
  let stateDir = '';
  let token = '';
  const calls: VdiCallLog[] = [];
  const tag = randomBytes(3).toString('hex');
  const poolName = `pd-${tag}`;
  const prefix = `pd${tag}`;
  let vms: DomainVO[] = [];

  beforeAll(async () => {
    template = await defineSimTemplate({ boot: true });
    const xml = await template.client.rawDomainXml(template.name);
    token = /atp\.token=([^\s<]+)/.exec(xml)?.[1] ?? '';
    if (token === '') throw new Error(`no atp.token= on the template's kernel command line:\n${xml}`);
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-platform-display-'));
    stateDir = path.join(dir, 'state');
    sim = await startSimulator({ models: [template.name], stateDir });
    client = new OCloudClient({ baseUrl: sim.url, username: 'admin', password: 'admin123', log: (entry) => calls.push(entry) });
    platform = { name: 'sim', url: sim.url, username: 'admin', password: { kind: 'env', name: 'ATP_UNUSED_PLATFORM_PASSWORD' }, timeoutMs: undefined, hosts: {} };
    const modelId = (await client.models())[0]?.id ?? '';
    const created = await createPoolAndWait(client, { name: poolName, amount: 2, type: POOL_TYPE.dedicated, modelId, domainPrefix: prefix }, { deadlineMs: TASK_MS });
    vms = created.domains;
    const started = await powerAndWait(client, 'start', vms.map((v) => v.id), { deadlineMs: TASK_MS });
    const failed = started.filter((o) => !o.ok);
    if (failed.length > 0) throw new Error(`the pool's VMs did not start: ${JSON.stringify(failed)}`);
  }, SETUP_MS);

  afterAll(async () => {
    if (vms.length > 0) await powerAndWait(client, 'close', vms.map((v) => v.id), { deadlineMs: TASK_MS, force: true }).catch(() => undefined);
    const pool = (await client?.pools().catch(() => []))?.find((p) => p.name === poolName);
    if (pool !== undefined) await client.deletePool(pool.id).catch(() => undefined);
    await client?.logout().catch(() => undefined);
    await sim?.close();
    await template?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, TASK_MS);

  const names = (): string[] => vms.map((v) => v.name);

  interface Ran extends PlatformSuiteResult {
    lines: string[];
    events: RunEvent[];
    /** Everything printed while the suite ran. */
    output: string;
    /** The platform calls made during the run. */
    paths: string[];
    detail: string;
  }

  async function runSuite(injector: 'spice' | 'vnc', text: string): Promise<Ran> {
    const suite = parseAnySuiteText(
      `
version: 2
name: ${injector}-typing
target: { platform: sim, pool: ${poolName}, injector: ${injector} }
observer: agent
defaults: { timeoutMs: 30000 }
steps:
  - waitFor: { agentConnected: true, timeoutMs: ${TASK_MS} }
  - type: '${text}'
  - expect: { keys: exact }
`,
      'platform-display.yaml',
    );
    if (suite.version !== 2) throw new Error('expected a version 2 suite');
    const lines: string[] = [];
    const events: RunEvent[] = [];
    const first = calls.length;
    const hub = await AgentHub.create({ auth: { tokens: [token] } });
    const captured = captureOutput();
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
        log: (line) => lines.push(line),
        onEvent: (e) => events.push(e),
      });
      captured.stop();
      console.log(`platform display suite (${injector}): exit ${result.exitCode} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const consoles = await Promise.all(names().map(async (n) => `--- ${n} console:\n${await cloneConsole(path.join(stateDir, n))}`));
      const detail = `steps:\n${JSON.stringify(result.report.steps, null, 1)}\nsuites:\n${JSON.stringify(result.report.suites.map((s) => [s.target, s.verdict, s.error, s.findings]), null, 1)}\nlog:\n${lines.join('\n')}\n${consoles.join('\n')}`;
      return { ...result, lines, events, output: captured.text(), paths: calls.slice(first).map((c) => c.path), detail };
    } finally {
      captured.stop();
      await hub.close();
    }
  }

  const summary = (steps: readonly PlatformStepResult[] | undefined): [number, string, string][] => (steps ?? []).map((s) => [s.step, s.action, s.outcome]);
  const spiceEndpoint = async (vm: DomainVO, password: string): Promise<Parameters<typeof linkChannel>[0]> => {
    const key = await client.spiceKey(vm.id);
    return { protocol: 'spice', address: { kind: 'tcp', host: key.ip, port: key.port }, password };
  };

  it(
    'target.injector spice: both VMs pass; the endpoint is the platform\'s spice-key, whose ticket is printed nowhere',
    async () => {
      const ran = await runSuite('spice', 'hello spice');
      const { report, detail } = ran;
      expect(summary(report.steps), detail).toEqual([
        [0, 'waitFor', 'ok'],
        [1, 'input', 'ok'],
      ]);
      expect(ran.exitCode, detail).toBe(0);
      expect(report.suites.map((s) => [s.target.vm, s.target.injector, s.verdict]).sort(), detail).toEqual(names().map((n) => [n, 'spice', 'pass']));
      for (const s of report.suites) expect(s.counts.matched, detail).toBe(s.counts.expected);
      expect(report.fleet, detail).toMatchObject({ passed: 2, failed: 0, infraError: 0 });

      // Each VM's display was asked of the platform during the run, not read from libvirt.
      for (const vm of vms) expect(ran.paths, detail).toContain(`/ocloud/v1/domain/${vm.id}/spice-key`);
      // The platform's ticket opens the display; the password in the domain's libvirt XML no longer does.
      for (const vm of vms) {
        const ticket = (await client.spiceKey(vm.id)).key ?? '';
        expect(ticket, `the platform's SPICE ticket for ${vm.name}`).toMatch(/^\S{8,}$/);
        const linked = await linkChannel(await spiceEndpoint(vm, ticket), { channelType: 1, channelId: 0, connectionId: 0 }, 20_000);
        linked.socket.destroy();
        const refused = await linkChannel(await spiceEndpoint(vm, LIBVIRT_SPICE_PASSWORD), { channelType: 1, channelId: 0, connectionId: 0 }, 20_000).catch((e: unknown) => e);
        expect(isAtpError(refused, 'ATP_SPICE_AUTH'), String(refused)).toBe(true);

        expect(JSON.stringify(report)).not.toContain(ticket);
        expect(JSON.stringify(ran.events)).not.toContain(ticket);
        expect(ran.lines.join('\n')).not.toContain(ticket);
        expect(ran.output).not.toContain(ticket);
      }
    },
    TEST_MS,
  );

  it(
    'target.injector vnc: both VMs pass through VNC, with the port list and a fresh vnc-password per VM from the platform',
    async () => {
      const ran = await runSuite('vnc', 'hello vnc');
      const { report, detail } = ran;
      expect(summary(report.steps), detail).toEqual([
        [0, 'waitFor', 'ok'],
        [1, 'input', 'ok'],
      ]);
      expect(ran.exitCode, detail).toBe(0);
      expect(report.suites.map((s) => [s.target.vm, s.target.injector, s.verdict]).sort(), detail).toEqual(names().map((n) => [n, 'vnc', 'pass']));
      for (const s of report.suites) expect(s.counts.matched, detail).toBe(s.counts.expected);
      for (const vm of vms) {
        expect(ran.paths.filter((p) => p === `/ocloud/v1/domain/${vm.id}/port`).length, detail).toBeGreaterThanOrEqual(1);
        expect(ran.paths.filter((p) => p === `/ocloud/v1/domain/${vm.id}/vnc-password`), detail).toHaveLength(1);
        // The platform set its own password: the one in the template's libvirt XML is refused.
        const vncPort = (await client.ports(vm.id)).find((p) => p.type === 'vnc')?.value ?? 0;
        expect(await vncLogin('127.0.0.1', vncPort, LIBVIRT_VNC_PASSWORD), `${vm.name}'s VNC display on port ${vncPort}`).toBe(false);
      }
    },
    TEST_MS,
  );

  it(
    'a SPICE password changed on the hypervisor behind the platform\'s back: that VM is ATP_SPICE_AUTH, the other passes',
    async () => {
      const [good, bad] = vms;
      if (good === undefined || bad === undefined) throw new Error('the pool has fewer than two VMs');
      const ticket = (await client.spiceKey(bad.id)).key ?? '';
      await setDisplayPassword(bad.name, 'spice', `changed-${randomBytes(4).toString('hex')}`);
      try {
        const ran = await runSuite('spice', 'one of two');
        const { report, detail } = ran;
        expect(summary(report.steps), detail).toEqual([
          [0, 'waitFor', 'ok'],
          [1, 'input', 'failed'],
        ]);
        const row = report.steps?.[1];
        expect(row?.error?.code, detail).toBe('ATP_SPICE_AUTH');
        expect(row?.vms?.map((v) => [v.vm, v.ok]).sort(), detail).toEqual([
          [good.name, true],
          [bad.name, false],
        ]);
        // The refusal names the endpoint the platform gave for that VM (its spice-key's host and port).
        const badKey = await client.spiceKey(bad.id);
        expect(row?.vms?.find((v) => v.vm === bad.name)?.detail, detail).toMatch(new RegExp(`^infra-error: .*ATP_SPICE_AUTH: .*spice://${badKey.ip.replaceAll('.', '\\.')}:${badKey.port}\\b`));
        expect(report.fleet?.vms.map((v) => [v.vm, v.outcome, v.error?.code]).sort(), detail).toEqual([
          [good.name, 'passed', undefined],
          [bad.name, 'infra-error', 'ATP_SPICE_AUTH'],
        ]);
        // One VM's input was verified, so the run is "failed" (1), not "nothing verified" (3): platform-outcome.ts.
        expect(ran.exitCode, detail).toBe(1);
        for (const text of [JSON.stringify(report), JSON.stringify(ran.events), ran.lines.join('\n'), ran.output]) expect(text).not.toContain(ticket);
      } finally {
        await setDisplayPassword(bad.name, 'spice', ticket);
      }
    },
    TEST_MS,
  );
});
