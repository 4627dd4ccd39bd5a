/**
 * The VDI platform path end to end, through the command line only: the
 * OCloudView simulator on a real libvirtd with the lab template (our agent
 * inside, its token on the kernel command line, the org.atp.agent.0 channel)
 * as its model; `atp-host platform add` (password from an environment
 * variable) → `vdi pool create` (3 clones) → `vdi vm start --pool` →
 * `verify --platform --pool` running scenarios/smoke.yaml on the three at
 * once (one sub-report per VM, all passed) → `vdi vm stop --pool --force` →
 * `vdi pool delete`; afterwards libvirt knows none of the pool's domains and
 * their clone dirs are gone. Three TCG guests boot on two cores here (30–90 s).
 * Then the shipped v2 example scenarios/pool-typing.yaml (its model and pool
 * names replaced) through `verify FILE --token T`: every step ok, three VMs
 * passed, the cleanup steps leave nothing behind.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport, type Finding } from '@atp/protocol';
import { startSimulator, type Simulator } from '../host/src/vdi-sim/index.js';
import { atpHost, jsonOf, type CliRun } from '../host/test/support/vdi-cli-run.js';
import { cloneConsole, defineSimTemplate, type SimTemplate } from '../host/test/support/vdi-sim-lab.js';

const run = promisify(execFile);
const SMOKE = fileURLToPath(new URL('../scenarios/smoke.yaml', import.meta.url));
const POOL_TYPING = fileURLToPath(new URL('../scenarios/pool-typing.yaml', import.meta.url));
const PASSWORD_ENV = 'ATP_E2E_VDI_POOL_PASSWORD';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
/** The libvirt suite lock may be held by another file for its whole run, and the lab image may need building. */
const SETUP_MS = 900_000;
const TEST_MS = 900_000;
/**
 * Tolerated (and printed), as in e2e-libvirt-fleet: the verifier's note that some latencies came out negative
 * beyond the qemu-ga clock estimate's uncertainty; it is about the latency figures, not the input (verdict pass).
 */
const CLOCK_NOTE = /^\d+ of \d+ latencies are negative beyond the clock uncertainty/;

describe('a desk pool of the simulated platform, from creation to deletion, verified on the way', () => {
  let template: SimTemplate | undefined;
  let sim: Simulator | undefined;
  let dir = '';
  let config = '';
  let stateDir = '';
  let token = '';
  const tag = randomBytes(3).toString('hex');
  const pool = `e2e-${tag}`;
  const prefix = `vdie2e${tag}`;
  const names = [1, 2, 3].map((i) => `${prefix}-${i}`);

  const cli = async (...argv: string[]): Promise<CliRun> => {
    const t0 = performance.now();
    const r = await atpHost(...argv, '--config-dir', config);
    console.log(`e2e vdi pool: atp-host ${argv.slice(0, 3).join(' ')} … exit ${r.code} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return r;
  };
  const ok = (r: CliRun, what: string): CliRun => {
    expect(r.code, `${what}: exit ${r.code}\nstdout:\n${r.out}\nstderr:\n${r.err}`).toBe(0);
    return r;
  };
  const consoles = async (): Promise<string> => (await Promise.all(names.map(async (n) => `--- ${n} console:\n${await cloneConsole(path.join(stateDir, n))}`))).join('\n');
  const virshNames = async (): Promise<string[]> => (await run('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name'], { env: { ...process.env, LC_ALL: 'C' } })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);

  beforeAll(async () => {
    template = await defineSimTemplate({ boot: true });
    // The template's agent token: on its kernel command line (host/test/support/vdi-sim-lab.ts); every clone has it.
    const xml = await template.client.rawDomainXml(template.name);
    token = /atp\.token=([^\s<]+)/.exec(xml)?.[1] ?? '';
    if (token === '') throw new Error(`no atp.token= on the template's kernel command line:\n${xml}`);
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-vdi-pool-'));
    config = path.join(dir, 'config');
    stateDir = path.join(dir, 'state');
    sim = await startSimulator({
      models: [template.name],
      stateDir,
      seed: { admin: { username: 'admin', password: PASSWORD }, ous: [{ ou: 'atp', distinguishedName: 'OU=atp,DC=atp,DC=local' }], users: [] },
    });
    process.env[PASSWORD_ENV] = PASSWORD;
  }, SETUP_MS);

  afterAll(async () => {
    await sim?.close();
    await template?.remove();
    delete process.env.ATP_E2E_VDI_POOL_PASSWORD;
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 300_000);

  it(
    'platform add → pool create (3) → vm start --pool → verify --platform --pool (3 passed) → vm stop --force → pool delete, leaving nothing behind',
    async () => {
      const url = sim?.url ?? '';
      const added = ok(await cli('platform', 'add', 'sim', '--url', url, '--username', 'admin', '--password-env', PASSWORD_ENV), 'platform add');
      expect(added.out).toContain(`added sim to ${path.join(config, 'platforms.yaml')}: ${url} as admin, password from env ${PASSWORD_ENV}`);

      const created = jsonOf<{ pool: { name: string; amount: number }; vms: { name: string; status: number }[] }>(
        ok(await cli('vdi', 'pool', 'create', pool, '--model', template?.name ?? '', '--amount', '3', '--prefix', prefix, '--timeout', '300', '--json'), 'pool create'),
      );
      expect(created.pool).toMatchObject({ name: pool, amount: 3 });
      expect(created.vms.map((v) => [v.name, v.status])).toEqual(names.map((n) => [n, 0]));

      const started = ok(await cli('vdi', 'vm', 'start', '--pool', pool, '--timeout', '300'), 'vm start');
      for (const n of names) expect(started.err).toMatch(new RegExp(`^vdi vm start: ${n}: running after \\d+\\.\\d s \\([123] of 3\\)$`, 'm'));

      const reportFile = path.join(dir, 'report.json');
      const t0 = performance.now();
      // Closed loop (at most 4 keys unobserved), as the other TCG fleet tests: the first VM's suite starts while the
      // other two still boot on the same two cores, and at the open-loop default (50 keys/s) its agent fell behind
      // the guest's 64-event evdev buffer (SYN_DROPPED at step 0) in one run of three.
      const verified = await cli('verify', '--platform', 'sim', '--pool', pool, '--token', token, SMOKE, '--concurrent', '3', '--closed-loop', '4', '--report', `json:${reportFile}`);
      console.log(`e2e vdi pool: verify of 3 VMs took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const report = parseReport(JSON.parse(await readFile(reportFile, 'utf8')), reportFile);
      const detail = `verify exit ${verified.code}\nstdout:\n${verified.out}\nstderr:\n${verified.err}\n${verified.code === 0 ? '' : await consoles()}`;
      expect(report.suites.map((s) => s.target.vm).sort(), detail).toEqual(names);
      for (const s of report.suites) {
        const line = (f: Finding): string => `${s.target.vm}: ${f.kind}: ${f.message}`;
        const notes = s.findings.filter((f) => f.kind === 'error' && CLOCK_NOTE.test(f.message));
        if (notes.length > 0) console.log(`e2e vdi pool: tolerated: ${notes.map(line).join('; ')}`);
        expect(s.findings.filter((f) => !notes.includes(f)).map(line), detail).toEqual([]);
        expect(s.verdict, detail).toBe('pass');
        expect(s.counts.matched).toBe(s.counts.expected);
      }
      expect(report.fleet, detail).toMatchObject({ passed: 3, failed: 0, infraError: 0, aborted: 0, notRun: 0, concurrency: 3 });
      expect(report.fleet?.vms.map((v) => [v.vm, v.outcome, v.suites]).sort()).toEqual(names.map((n) => [n, 'passed', 1]));
      expect(verified.code, detail).toBe(0);

      const stopped = ok(await cli('vdi', 'vm', 'stop', '--pool', pool, '--force', '--timeout', '300'), 'vm stop');
      for (const n of names) expect(stopped.err).toMatch(new RegExp(`^vdi vm stop: ${n}: shut-off after `, 'm'));

      ok(await cli('vdi', 'pool', 'delete', pool), 'pool delete');
      expect((await virshNames()).filter((n) => n.startsWith(prefix))).toEqual([]);
      expect((await readdir(stateDir)).filter((f) => f.startsWith(prefix))).toEqual([]);
      expect(jsonOf<{ pools: unknown[] }>(ok(await cli('vdi', 'pools', 'list', '--json'), 'pools list')).pools).toEqual([]);
    },
    TEST_MS,
  );

  it(
    'the v2 example scenarios/pool-typing.yaml through verify: create, start, wait, type on 3 VMs, shut down, delete; every step ok',
    async () => {
      // The platform entry from the test above (it runs first in this file); added here when run alone.
      if (!(await readFile(path.join(config, 'platforms.yaml'), 'utf8').catch(() => '')).includes('sim:')) {
        ok(await cli('platform', 'add', 'sim', '--url', sim?.url ?? '', '--username', 'admin', '--password-env', PASSWORD_ENV), 'platform add');
      }
      const typingPrefix = `vdiv2${tag}`;
      const text = (await readFile(POOL_TYPING, 'utf8')).replaceAll('model: desk-template', `model: ${template?.name ?? ''}`).replaceAll('atp-typing', typingPrefix);
      const suiteFile = path.join(dir, 'pool-typing.yaml');
      await writeFile(suiteFile, text);
      const reportFile = path.join(dir, 'report-v2.json');
      const t0 = performance.now();
      const verified = await cli('verify', suiteFile, '--token', token, '--closed-loop', '4', '--report', `json:${reportFile}`);
      console.log(`e2e vdi pool: the v2 suite took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const report = parseReport(JSON.parse(await readFile(reportFile, 'utf8')), reportFile);
      const typingNames = [1, 2, 3].map((i) => `${typingPrefix}-${i}`);
      const detail = `verify exit ${verified.code}\nstdout:\n${verified.out}\nstderr:\n${verified.err}`;
      expect(report.steps?.map((st) => [st.action, st.outcome]), detail).toEqual([
        ['vdi', 'ok'], ['vdi', 'ok'], ['waitFor', 'ok'], ['waitFor', 'ok'], ['input', 'ok'], ['vdi', 'ok'], ['vdi', 'ok'],
      ]);
      expect(report.suites.map((st) => st.target.vm).sort(), detail).toEqual(typingNames);
      for (const st of report.suites) {
        const notes = st.findings.filter((f) => f.kind === 'error' && CLOCK_NOTE.test(f.message));
        expect(st.findings.filter((f) => !notes.includes(f)).map((f) => `${st.target.vm}: ${f.kind}: ${f.message}`), detail).toEqual([]);
        expect(st.verdict, detail).toBe('pass');
      }
      expect(report.fleet, detail).toMatchObject({ passed: 3, failed: 0, infraError: 0 });
      expect(verified.out).toMatch(/^\s*STEP\s+ACTION\s+WHAT\s+OUTCOME/m);
      expect(verified.code, detail).toBe(0);
      expect((await virshNames()).filter((n) => n.startsWith(typingPrefix))).toEqual([]);
      expect((await readdir(stateDir)).filter((f) => f.startsWith(typingPrefix))).toEqual([]);
    },
    TEST_MS,
  );
});
