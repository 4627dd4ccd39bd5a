/**
 * The lab guest as a real libvirt domain (one TCG boot): `atp-host verify --vm`
 * runs scenarios/smoke.yaml through libvirt (hub on the domain's agent
 * channel, input via qemu-monitor-command, clock via qemu-agent-command) and
 * passes; `command exec`, `vm list`, keyboard and mouse commands work on it,
 * also as NAME@HOST through a real local sshd (there `verify --vm NAME@loop`
 * runs the smoke suite too, the agent channel over an SSH unix-socket forward);
 * a suite survives libvirtd being killed and restarted mid-run (one retried
 * call, an 'error' finding saying so); an unknown or stopped domain fails
 * typed, naming it; `--vms GLOB` runs verify and `command exec` on the
 * matching running domains and skips the stopped one. The domain is destroyed and undefined in
 * afterAll even when a test failed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport, type SuiteReport } from '@atp/protocol';
import { runCli } from '../host/src/cli/program.js';
import { startLibvirtTarget } from '../host/src/targets/libvirt-target.js';
import { openDomain } from '../host/src/targets/domains.js';
import { QmpInjector } from '../host/src/inject/index.js';
import { parseSuiteText, runSuite } from '../host/src/scenario/index.js';
import { buildDomainXml } from '../host/src/vm/libvirt/index.js';
import { qgaExec, qgaPing } from '../host/src/vm/qga/index.js';
import { ensureLibvirtd, killLibvirtd, removeDomain, signalLibvirtd, testDomainName } from '../host/test/support/libvirtd.js';
import { startSshd, type Sshd } from '../host/test/support/sshd.js';
import { defineLabDomain, type E2eDomain } from './support/e2e-libvirt.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
let vm: E2eDomain | undefined;
let configDir = '';
const stopped = testDomainName('atp-e2e-off');

/** The one suite of a verify --json report, which must pass with every expected event matched. */
function expectSmokePass(r: { code: number; out: string; err: string }): SuiteReport | undefined {
  expect(r.err).not.toMatch(/ATP_/);
  const report = parseReport(JSON.parse(r.out));
  const suite = report.suites[0];
  expect(suite?.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
  expect(suite?.verdict).toBe('pass');
  expect(suite?.counts.expected).toBeGreaterThan(300);
  expect(suite?.counts.matched).toBe(suite?.counts.expected);
  expect(r.code).toBe(0);
  return suite;
}

function up(): E2eDomain {
  if (vm === undefined) throw new Error('the libvirt domain did not start (see beforeAll)');
  return vm;
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv], { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/** The agent token in a 0600 file for `--token-file` (a token on the command line draws a warning). */
async function tokenFile(token: string): Promise<string> {
  const file = path.join(configDir, 'agent.token');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  configDir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-libvirt-config-'));
  vm = await defineLabDomain();
  // The guest is up when qemu-ga answers through libvirt.
  const qga = vm.client.qgaExecutor(vm.name);
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      await qgaPing(qga, { timeoutMs: 2000 });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the guest's qemu-ga did not answer within 300 s; console:\n${await vm.console()}`, { cause: error });
      await sleep(500);
    }
  }
  console.log(`libvirt e2e: guest agent up ${((performance.now() - vm.startedAt) / 1000).toFixed(1)} s after virsh start`);
  // A second domain, defined but never started.
  await vm.client.define(buildDomainXml({ name: stopped }));
}, 900_000);

afterAll(async () => {
  await removeDomain(stopped);
  await vm?.remove();
  if (configDir) await rm(configDir, { recursive: true, force: true });
}, 120_000);

describe('the lab guest as a libvirt domain', () => {
  it('atp-host verify --vm runs the smoke suite through libvirt and passes', async () => {
    const { name, token } = up();
    const t0 = performance.now();
    const r = await cli('verify', '--vm', name, '--token-file', await tokenFile(token), '--config-dir', configDir, '--closed-loop', '8', '--timeout', '300', '--json', path.join(repo, 'scenarios/smoke.yaml'));
    console.log(`libvirt e2e: verify --vm (smoke, closed loop 8) took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expectSmokePass(r);
  }, 600_000);

  it('startLibvirtTarget reaches the agent again after the CLI let go, and measures the clock through qemu-agent-command', async () => {
    const { name, token, agentId } = up();
    const target = await startLibvirtTarget({ vm: name, token, location: { configDir }, timeoutMs: 120_000 });
    try {
      expect(target.agentId).toBe(agentId);
      expect(target.vm).toBe(name);
      const clock = await target.clock();
      expect(Number.isFinite(clock.offsetMs)).toBe(true);
    } finally {
      await target.close();
    }
  }, 180_000);

  it('runs a guest command through qemu-agent-command (library and `command exec`)', async () => {
    const { client, name } = up();
    const r = await qgaExec(client.qgaExecutor(name), '/bin/sh', ['-c', 'echo atp-libvirt; echo oops >&2; exit 3']);
    expect(r.exitCode).toBe(3);
    expect(Buffer.from(r.stdout).toString('utf8')).toBe('atp-libvirt\n');
    expect(Buffer.from(r.stderr).toString('utf8')).toBe('oops\n');
    const plain = await cli('command', 'exec', '--vm', name, '--config-dir', configDir, '--', '/bin/sh', '-c', 'echo hi; echo err >&2; exit 7');
    expect(plain).toEqual({ code: 7, out: 'hi\n', err: 'err\n' });
    const json = await cli('command', 'exec', '--vm', name, '--config-dir', configDir, '--json', '--', '/bin/cat', '/proc/sys/kernel/ctrl-alt-del');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ exitCode: 0, signal: null, stdout: '0\n', stderr: '' });
  }, 120_000);

  it('lists domains and sends keys, text and pointer input with the hands-on commands', async () => {
    const { name } = up();
    const list = await cli('vm', 'list', '--config-dir', configDir, '--json');
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.out) as { domains: { name: string; state: string }[] };
    expect(listed.domains).toContainEqual(expect.objectContaining({ name, state: 'running' }));
    expect(listed.domains).toContainEqual(expect.objectContaining({ name: stopped, state: 'shutoff' }));
    const common = ['--vm', name, '--config-dir', configDir, '--json'];
    expect(JSON.parse((await cli('keyboard', 'send', ...common, 'a', 'shift+b')).out)).toEqual({ vm: name, keystrokes: 2, actions: 6 });
    expect(JSON.parse((await cli('keyboard', 'text', ...common, 'hi!')).out)).toMatchObject({ vm: name, keystrokes: 3 });
    expect(JSON.parse((await cli('mouse', 'move', ...common, '--screen', '800x600', '400', '300')).out)).toEqual({ vm: name, x: 400, y: 300, screen: { width: 800, height: 600 } });
    expect(JSON.parse((await cli('mouse', 'click', ...common, 'right')).out)).toEqual({ vm: name, button: 'right' });
  }, 120_000);

  it('--vms GLOB runs verify, `command exec`, keyboard and mouse on every matching running domain, skipping the shut-off one', async () => {
    const { name, token } = up();
    // Matches the booted domain (atp-e2e-PID-…) and the defined-but-stopped one (atp-e2e-off-PID-…).
    const glob = `atp-e2e*-${process.pid}-*`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-vms-'));
    try {
      const suite = path.join(dir, 'few-keys.yaml');
      const yaml = ['version: 1', 'name: few-keys', 'target:', '  vm: lab', '  layout: us', '  screen: { width: 1024, height: 768 }', 'observer: agent', 'defaults:', '  timeoutMs: 60000', 'steps:', '  - name: a few keys', '    type: vms', '  - expect: { keys: exact }', ''];
      await writeFile(suite, yaml.join('\n'));
      const v = await cli('verify', '--vms', glob, '--token-file', await tokenFile(token), '--config-dir', configDir, '--closed-loop', '4', '--timeout', '300', '--json', suite);
      expect(v.err).toContain(`skipped ${stopped}: shutoff`);
      expect(v.err).not.toMatch(/ATP_/);
      const report = parseReport(JSON.parse(v.out));
      expect(report.suites.map((s) => [s.target.vm, s.verdict])).toEqual([[name, 'pass']]);
      expect(v.code).toBe(0);
      const c = await cli('command', 'exec', '--vms', glob, '--config-dir', configDir, '--', '/bin/echo', 'hi');
      expect(c).toEqual({ code: 0, out: `==> ${name} (exit 0) <==\nhi\n`, err: `command: skipped ${stopped}: shutoff, not running\n` });
      const j = await cli('command', 'exec', '--vms', glob, '--config-dir', configDir, '--json', '--', '/bin/sh', '-c', 'echo hi; exit 5');
      expect(j.code).toBe(5);
      expect(JSON.parse(j.out)).toEqual([{ vm: name, result: expect.objectContaining({ exitCode: 5, stdout: 'hi\n' }) }]);
      const k = await cli('keyboard', 'send', '--vms', glob, '--config-dir', configDir, '--json', 'a');
      expect(JSON.parse(k.out)).toEqual([{ vm: name, result: { keystrokes: 1, actions: 2 } }]);
      const m = await cli('mouse', 'click', '--vms', glob, '--config-dir', configDir, '--json');
      expect(JSON.parse(m.out)).toEqual([{ vm: name, result: { button: 'left' } }]);
      // Nothing running matches: a usage error naming the domains that exist.
      const none = await cli('command', 'exec', '--vms', `atp-e2e-off-${process.pid}-*`, '--config-dir', configDir, '--', '/bin/true');
      expect(none.code).toBe(2);
      expect(none.err).toContain(stopped);
      const both = await cli('verify', '--vm', name, '--vms', glob, '--token', token, suite);
      expect(both.code).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);

  it('reaches the same domain as NAME@HOST through SSH (hosts.yaml, remote virsh, the agent channel over a forward)', async () => {
    const { name, token, agentId } = up();
    let sshd: Sshd | undefined;
    const remoteConfig = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-libvirt-ssh-'));
    try {
      sshd = await startSshd();
      const knownHosts = path.join(remoteConfig, 'known_hosts');
      await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${await sshd.hostPublicKey()}\n`);
      const hosts = ['version: 1', 'hosts:', '  loop:', '    kind: ssh', '    host: 127.0.0.1', `    port: ${sshd.port}`, `    user: ${sshd.user}`, `    identityFile: ${sshd.identityFile}`, `    knownHostsFile: ${knownHosts}`, ''];
      await writeFile(path.join(remoteConfig, 'hosts.yaml'), hosts.join('\n'), { mode: 0o600 });
      const target = await startLibvirtTarget({ vm: `${name}@loop`, token, location: { configDir: remoteConfig }, timeoutMs: 120_000 });
      try {
        expect(target).toMatchObject({ agentId, vm: `${name}@loop`, domain: name });
        expect(Number.isFinite((await target.clock()).offsetMs)).toBe(true);
      } finally {
        await target.close();
      }
      const r = await cli('command', 'exec', '--vm', `${name}@loop`, '--config-dir', remoteConfig, '--', '/bin/sh', '-c', 'echo remote; exit 4');
      expect(r).toEqual({ code: 4, out: 'remote\n', err: '' });
      // The whole smoke suite over SSH: remote virsh for input and clock, the agent channel through a forward.
      const t0 = performance.now();
      const v = await cli('verify', '--vm', `${name}@loop`, '--token-file', await tokenFile(token), '--config-dir', remoteConfig, '--closed-loop', '8', '--timeout', '300', '--json', path.join(repo, 'scenarios/smoke.yaml'));
      console.log(`libvirt e2e: verify --vm NAME@loop (smoke over ssh, closed loop 8) took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      expect(expectSmokePass(v)?.target.vm).toBe(`${name}@loop`);
    } finally {
      await sshd?.cleanup();
      await rm(remoteConfig, { recursive: true, force: true });
    }
  }, 900_000);

  it('carries a suite on through libvirtd being killed and restarted mid-run, and reports the interruption', async () => {
    const { name, token } = up();
    const steps = Array.from({ length: 12 }, (_, i) => [`  - name: word ${i}`, `    type: ${'abcdefghij'.slice(0, 4 + (i % 6))}`]).flat();
    const yaml = ['version: 1', 'name: libvirtd-restart', 'target:', '  vm: lab', '  layout: us', '  screen: { width: 1024, height: 768 }', 'observer: agent', 'defaults:', '  timeoutMs: 60000', 'steps:', ...steps, '  - expect: { keys: exact }', ''].join('\n');
    const loaded = parseSuiteText(yaml, 'libvirtd-restart.yaml');
    const target = await startLibvirtTarget({ vm: name, token, location: { configDir }, timeoutMs: 120_000 });
    let restart: Promise<void> | undefined;
    try {
      const injector = new QmpInjector({ executor: target.qmp, screen: loaded.scenario.target.screen });
      const run = await runSuite(
        loaded,
        { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, vm: target.vm },
        {
          pacing: { closedLoop: 4 },
          progressIntervalMs: 100,
          onProgress: (state) => {
            if (state.step < 4 || restart !== undefined) return;
            // Freeze libvirtd so the next call hangs in flight, then kill it (the call fails
            // ATP_LIBVIRT_CONNECTION) and start a new one.
            restart = (async () => {
              await signalLibvirtd('SIGSTOP');
              await sleep(1000);
              await killLibvirtd();
              await ensureLibvirtd();
            })();
          },
        },
      );
      await restart;
      await injector.close();
      const { report } = run;
      expect(restart).toBeDefined();
      console.log(`libvirt e2e: error findings: ${report.findings.filter((f) => f.kind === 'error').map((f) => f.message).join('; ')}`);
      // (Other 'error' findings can come from the fresh hub itself, e.g. a gap notice for the agent's earlier events.)
      const interruptions = report.findings.filter((f) => f.kind === 'error' && f.message.startsWith('libvirt connection interrupted'));
      expect(interruptions.length).toBeGreaterThanOrEqual(1);
      expect(interruptions[0]?.message).toMatch(/^libvirt connection interrupted at step \d+ \(ATP_LIBVIRT_CONNECTION\); reconnected after \d+ ms$/);
      // The run completed: every step was sent, nothing ended it as an infrastructure error.
      expect(report.error).toBeUndefined();
      const typed = Array.from({ length: 12 }, (_, i) => 4 + (i % 6)).reduce((a, b) => a + b, 0);
      expect(report.counts.expected).toBeGreaterThanOrEqual(typed);
      // A retried call QEMU had already applied shows up as a duplicate, never hidden.
      const defects = report.findings.filter((f) => f.kind !== 'error');
      expect(defects.every((f) => f.kind === 'duplicate')).toBe(true);
      expect(report.counts.matched).toBe(report.counts.expected);
    } finally {
      await restart?.catch(() => undefined);
      await ensureLibvirtd();
      await target.close();
    }
  }, 600_000);

  it('fails typed, naming the domain, when it is unknown or not running', async () => {
    const ghost = `${up().name}-ghost`;
    await expect(openDomain(ghost, { configDir })).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_FOUND', details: { domain: ghost } });
    await expect(openDomain(stopped, { configDir })).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING', details: { domain: stopped, state: 'shutoff' } });
    const v = await cli('verify', '--vm', stopped, '--token', 't', '--config-dir', configDir, path.join(repo, 'scenarios/smoke.yaml'));
    expect(v.code).toBe(3);
    expect(v.err).toContain('ATP_LIBVIRT_DOMAIN_NOT_RUNNING');
    expect(v.err).toContain(stopped);
    const c = await cli('command', 'exec', '--vm', ghost, '--config-dir', configDir, '--', 'true');
    expect(c.code).toBe(3);
    expect(c.err).toContain(ghost);
    const h = await cli('vm', 'list', '--host', 'nowhere', '--config-dir', configDir);
    expect(h.code).toBe(2);
    expect(h.err).toContain('ATP_CONFIG_HOST_UNKNOWN');
  }, 120_000);
});
