/**
 * The run engine on real libvirt domains (ATP issue 12): three TRANSIENT lab
 * domains (`virsh create`, one of them through SSH) from one template, so
 * clones in all but name and UUID: the same kernel, cmdline, token and agent
 * id ('desk'). `atp-host verify --vms 'PREFIX-*'` verifies all three at once,
 * two rounds each, locally; then as `PREFIX-*@loop` through a real local sshd
 * over ONE SSH connection for the whole run (counted in sshd's log). A
 * selector matching nothing, or excluded to nothing, is a usage error naming
 * the domains; `--limit 2` verifies two. Last, a domain destroyed in the
 * middle of its suite is that VM's infra-error while the other two pass
 * under `--on-failure continue` (exit code 1), and the hub's sessions show
 * three agents that all said 'desk', each keyed by its own domain and UUID.
 * Every domain is destroyed in afterAll, also after a failure.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport, type Finding, type ReportV1, type RunEvent } from '@atp/protocol';
import { runCli } from '../host/src/cli/program.js';
import { AgentHub, type HubItem } from '../host/src/hub/index.js';
import { runFleet, type RunResult } from '../host/src/run/index.js';
import { parseSuiteText, planSuite } from '../host/src/scenario/index.js';
import { HostConnections, libvirtOpener, openLibvirtHost, type LibvirtHost } from '../host/src/targets/index.js';
import { buildDomainXml } from '../host/src/vm/libvirt/index.js';
import { startSshd, type Sshd } from '../host/test/support/sshd.js';
import { createLabDomains, waitForGuestAgent, type E2eFleet } from './support/e2e-libvirt.js';

const SUITE = `version: 1
name: fleet-words
target: { vm: lab, layout: us, screen: { width: 1024, height: 768 } }
observer: agent
defaults: { timeoutMs: 60000 }
steps:
  - name: words
    type: 'hello fleet '
  - name: more words
    type: 'Quick Brown 42'
  - expect: { keys: exact }
`;

/** Long enough that a domain destroyed at its second step is still mid-suite. */
const LONG_SUITE = ['version: 1', 'name: fleet-long', 'target: { vm: lab, layout: us, screen: { width: 1024, height: 768 } }', 'observer: agent', 'defaults: { timeoutMs: 60000 }', 'steps:', ...Array.from({ length: 8 }, (_, i) => [`  - name: word ${i}`, `    type: 'fleet${i} '`]).flat(), '  - expect: { keys: exact }', ''].join('\n');

let fleet: E2eFleet | undefined;
let sshd: Sshd | undefined;
let dir = '';
let localConfig = '';
let remoteConfig = '';
let suiteFile = '';

/** The agent token in a 0600 file for `--token-file` (a token on the command line draws a warning). */
async function writeTokenFile(token: string): Promise<string> {
  const file = path.join(dir, 'agent.token');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return file;
}

const up = (): E2eFleet => {
  if (fleet === undefined) throw new Error('the three domains did not start (see beforeAll)');
  return fleet;
};
const theSshd = (): Sshd => {
  if (sshd === undefined) throw new Error('sshd did not start (see beforeAll)');
  return sshd;
};

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv], { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/**
 * The one finding tolerated (and printed): the verifier's note that a few latencies came out negative beyond
 * the qemu-ga clock estimate's uncertainty. It is about the latency figures, not the keys (the verdict stays
 * 'pass'); seen once in about ten runs of this file, on one VM over SSH (-14 ms against ±2.5 ms).
 */
const CLOCK_NOTE = /^\d+ of \d+ latencies are negative beyond the clock uncertainty/;

/** Every suite report passed, every expected key matched, and nothing found but (at most) the clock note. */
function expectAllPass(report: ReportV1): void {
  for (const s of report.suites) {
    const line = (f: Finding): string => `${s.target.vm} r${s.round ?? 1}: ${f.kind}: ${f.message}`;
    const clockNote = (f: Finding): boolean => f.kind === 'error' && CLOCK_NOTE.test(f.message);
    const notes = s.findings.filter(clockNote).map(line);
    if (notes.length > 0) console.log(`libvirt fleet e2e: tolerated: ${notes.join('; ')}`);
    expect(s.findings.filter((f) => !clockNote(f)).map(line)).toEqual([]);
    expect(s.verdict).toBe('pass');
    expect(s.counts.expected).toBeGreaterThan(20);
    expect(s.counts.matched).toBe(s.counts.expected);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-libvirt-fleet-'));
  localConfig = path.join(dir, 'local');
  remoteConfig = path.join(dir, 'remote');
  await mkdir(localConfig);
  await mkdir(remoteConfig);
  suiteFile = path.join(dir, 'fleet-words.yaml');
  await writeFile(suiteFile, SUITE);
  sshd = await startSshd();
  const knownHosts = path.join(remoteConfig, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${await sshd.hostPublicKey()}\n`);
  const hosts = ['version: 1', 'hosts:', '  loop:', '    kind: ssh', '    host: 127.0.0.1', `    port: ${sshd.port}`, `    user: ${sshd.user}`, `    identityFile: ${sshd.identityFile}`, `    knownHostsFile: ${knownHosts}`, ''];
  await writeFile(path.join(remoteConfig, 'hosts.yaml'), hosts.join('\n'), { mode: 0o600 });
  // The third domain is created through SSH (its XML staged on the "remote" side), the first two locally.
  let remote: LibvirtHost | undefined;
  try {
    remote = await openLibvirtHost('loop', { configDir: remoteConfig });
    const viaSsh = remote.client;
    fleet = await createLabDomains(3, { agentId: 'desk', creator: (i) => (i === 2 ? viaSsh : undefined) });
  } finally {
    await remote?.close();
  }
  const f = fleet;
  await Promise.all(f.domains.map((d) => waitForGuestAgent(f.client, d, 300_000)));
  console.log(`libvirt fleet e2e: 3 guests' qemu-ga up ${((performance.now() - f.startedAt) / 1000).toFixed(1)} s after the first virsh create`);
}, 600_000);

afterAll(async () => {
  await fleet?.remove();
  await sshd?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('three transient clones verified at once through the run engine', () => {
  it('creates transient domains from XML (locally and through SSH) with their own UUIDs, and refuses a second one of a name typed', async () => {
    const { client, domains } = up();
    const infos = await Promise.all(domains.map((d) => client.lookup(d.name)));
    expect(infos.map((i) => [i.state, i.persistent])).toEqual([
      ['running', false],
      ['running', false],
      ['running', false],
    ]);
    expect(new Set(infos.map((i) => i.uuid.toLowerCase())).size).toBe(3);
    const name = domains[0]?.name ?? '';
    await expect(client.create(buildDomainXml({ name }))).rejects.toMatchObject({ code: expect.stringMatching(/^ATP_LIBVIRT_/), message: expect.stringContaining(name) });
  }, 60_000);

  it("verifies all three at once, two rounds each, every VM's keys its own although every agent says 'desk'", async () => {
    const { prefix, token, domains } = up();
    const t0 = performance.now();
    const r = await cli('verify', '--vms', `${prefix}-*`, '--token-file', await writeTokenFile(token), '--concurrent', '3', '--loop', '2', '--closed-loop', '4', '--timeout', '300', '--json', '--config-dir', localConfig, suiteFile);
    expect(r.err).not.toMatch(/ATP_/);
    const report = parseReport(JSON.parse(r.out));
    const opened = report.fleet?.vms.map((v) => `${v.openMs ?? '?'} ms`).join(', ') ?? '';
    console.log(`libvirt fleet e2e: local --vms, 3 VMs × 2 rounds took ${((performance.now() - t0) / 1000).toFixed(1)} s (agent sessions after ${opened})`);
    expectAllPass(report);
    const names = domains.map((d) => d.name);
    expect(report.suites.map((s) => `${s.target.vm} r${s.round}`).sort()).toEqual(names.flatMap((n) => [`${n} r1`, `${n} r2`]).sort());
    expect(report.fleet?.passed).toBe(3);
    expect(report.fleet?.vms.map((v) => [v.vm, v.outcome, v.rounds]).sort()).toEqual(names.map((n) => [n, 'passed', 2]).sort());
    expect(r.code).toBe(0);
  }, 300_000);

  it('verifies all three as PREFIX-*@loop through sshd over one SSH connection for the whole run', async () => {
    const { prefix, token, domains } = up();
    const before = theSshd().acceptedLogins();
    const t0 = performance.now();
    const r = await cli('verify', '--vms', `${prefix}-*@loop`, '--token-file', await writeTokenFile(token), '--concurrent', '3', '--closed-loop', '4', '--timeout', '300', '--json', '--config-dir', remoteConfig, suiteFile);
    console.log(`libvirt fleet e2e: --vms …@loop, 3 VMs took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // Listing the domains, three agent forwards, every virsh call: all on the one connection.
    expect(theSshd().acceptedLogins() - before).toBe(1);
    expect(r.err).not.toMatch(/ATP_/);
    const report = parseReport(JSON.parse(r.out));
    expectAllPass(report);
    expect(report.suites.map((s) => s.target.vm).sort()).toEqual(domains.map((d) => `${d.name}@loop`).sort());
    expect(report.fleet?.passed).toBe(3);
    expect(r.code).toBe(0);
  }, 300_000);

  it('refuses a selector matching nothing and one excluded to nothing (exit 2, naming the domains); --limit 2 verifies two', async () => {
    const { prefix, token, domains } = up();
    const common = ['--token-file', await writeTokenFile(token), '--closed-loop', '4', '--timeout', '300', '--json', '--config-dir', localConfig];
    const none = await cli('verify', '--vms', 'nomatch-*', ...common, suiteFile);
    expect(none.code).toBe(2);
    expect(none.err).toContain('ATP_RUN_NO_TARGETS');
    for (const d of domains) expect(none.err).toContain(d.name);
    const excluded = await cli('verify', '--vms', `${prefix}-*`, '--exclude', `${prefix}-*`, ...common, suiteFile);
    expect(excluded.code).toBe(2);
    expect(excluded.err).toContain('ATP_RUN_NO_TARGETS');
    const limited = await cli('verify', '--vms', `${prefix}-*`, '--limit', '2', ...common, suiteFile);
    expect(limited.err).not.toMatch(/ATP_/);
    const report = parseReport(JSON.parse(limited.out));
    expectAllPass(report);
    const vms = report.suites.map((s) => s.target.vm);
    expect(vms).toHaveLength(2);
    expect(new Set(vms).size).toBe(2);
    for (const vm of vms) expect(domains.map((d) => d.name)).toContain(vm);
    expect(limited.code).toBe(0);
  }, 300_000);

  // Last: the destroyed domain is transient, so it is gone afterwards.
  it('reports a domain destroyed mid-suite as infra-error while the other two pass (continue, exit 1)', async () => {
    const { token, domains, client } = up();
    const [a, victim, c] = domains.map((d) => d.name);
    if (a === undefined || victim === undefined || c === undefined) throw new Error('three domains expected');
    const uuids = Object.fromEntries(await Promise.all(domains.map(async (d) => [d.name, (await client.lookup(d.name)).uuid.toLowerCase()] as const)));
    const loaded = parseSuiteText(LONG_SUITE, 'fleet-long.yaml');
    const hub = await AgentHub.create({ auth: { tokens: [token] } });
    const connections = new HostConnections({ configDir: localConfig });
    const events: RunEvent[] = [];
    const hellos = new Map<string, Extract<HubItem, { kind: 'connected' }>['hello']>();
    let destroyed: Promise<void> | undefined;
    let destroyedAt = 0;
    let result: RunResult;
    try {
      const run = runFleet({
        suites: [{ loaded, plan: planSuite(loaded.scenario) }],
        targets: [a, victim, c].map((name) => libvirtOpener(name, { token, location: { configDir: localConfig }, timeoutMs: 120_000 })),
        hub,
        connections,
        concurrency: 3,
        onFailure: 'continue',
        pacing: { closedLoop: 4 },
        version: '0.0.0-test',
      });
      for (;;) {
        const next = await run.next();
        if (next.done === true) {
          result = next.value;
          break;
        }
        const e = next.value;
        events.push(e);
        if (e.type === 'step-started' && e.target === victim && e.step === 1 && destroyed === undefined) {
          destroyedAt = Date.now();
          destroyed = client.destroy(victim);
        }
      }
      await destroyed;
      // Each session's first hello, read back from the hub's store: all said 'desk', each is keyed by its domain.
      for (const name of [a, victim, c]) {
        for await (const item of hub.stream(name, { from: 'start', signal: AbortSignal.timeout(10_000) })) {
          if (item.kind !== 'connected') continue;
          hellos.set(name, item.hello);
          break;
        }
      }
    } finally {
      await hub.close();
      await connections.close();
    }
    expect(destroyed).toBeDefined();
    for (const name of [a, victim, c]) expect(hellos.get(name)).toMatchObject({ agentId: 'desk', vmUuid: uuids[name] });
    const finished = events.filter((e): e is Extract<RunEvent, { type: 'target-finished' }> => e.type === 'target-finished');
    const problems = result.report.suites.filter((s) => s.verdict !== 'pass').map((s) => `${s.target.vm}: ${s.verdict} ${s.error?.code ?? ''} ${s.findings.map((f) => `${f.kind}@${f.step}: ${f.message}`).join(' | ')}`);
    expect(Object.fromEntries(finished.map((e) => [e.target, e.outcome])), problems.join('\n')).toEqual({ [a]: 'passed', [victim]: 'infra-error', [c]: 'passed' });
    const error = finished.find((e) => e.target === victim)?.error;
    const reportedAfter = Date.parse(finished.find((e) => e.target === victim)?.at ?? '') - destroyedAt;
    console.log(`libvirt fleet e2e: the destroyed domain was reported ${reportedAfter} ms after virsh destroy: ${error?.code}: ${error?.message}`);
    // The domain is gone: libvirt says so (not found / not running / the monitor closed), and nobody waits out a libvirtd reconnect.
    expect(error?.code).toMatch(/^ATP_(LIBVIRT_DOMAIN_NOT_FOUND|LIBVIRT_DOMAIN_NOT_RUNNING|LIBVIRT_OPERATION_FAILED|QMP_[A-Z_]+)$/);
    expect(reportedAfter).toBeLessThan(30_000);
    expect(result.exitCode).toBe(1);
    const { report } = result;
    expect(report.fleet).toMatchObject({ passed: 2, infraError: 1 });
    expectAllPass({ ...report, suites: report.suites.filter((s) => s.target.vm !== victim) });
    expect(report.suites.find((s) => s.target.vm === victim)?.verdict).toBe('error');
  }, 300_000);
});
