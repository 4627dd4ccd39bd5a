/**
 * SSH bench: per-call latency (median, p99) of QMP query-status
 * 1. through a long-lived virsh on an SSH exec channel (remote libvirt path),
 * 2. through a long-lived local virsh (baseline for 1),
 * 3. QmpClient through an SSH unix-socket forward (remote direct-QMP path),
 * 4. QmpClient on the unix socket directly (baseline for 3),
 * plus one short exec (`true`, a new channel per call) through the manager.
 * sshd runs on 127.0.0.1, so the figures are SSH's own cost, not a network's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { QmpClient, queryStatus, type QmpExecutor } from '../host/src/vm/qmp/index.js';
import { buildDomainXml, VirshLibvirtClient } from '../host/src/vm/libvirt/index.js';
import { SshConnection, SshConnectionManager, remoteLibvirtClient } from '../host/src/vm/ssh/index.js';
import { startQemu } from '../host/test/support/qemu.js';
import { startSshd } from '../host/test/support/sshd.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from '../host/test/support/libvirtd.js';
import { baseEnv, printTable, round, stats, timeEach, type BenchResult } from './support.js';

const WARMUP = 50;
const CALLS = { remoteVirsh: 500, localVirsh: 500, forwardQmp: 2000, directQmp: 2000, exec: 200 };
const BLOCKS = 5;


export async function run(): Promise<BenchResult> {
  const release = await acquireLibvirtSuiteLock();
  await ensureLibvirtd();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-ssh-bench-'));
  const name = testDomainName('atp-sshbench');
  const sshd = await startSshd();
  const qemu = await startQemu({ trace: false, extraQmpSockets: 1 });
  const endpoint = { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: path.join(dir, 'known_hosts') };
  (await SshConnection.connect(endpoint, { acceptNewHostKey: true })).close();
  const manager = new SshConnectionManager([{ name: 'hv', ...endpoint }], { heartbeatIntervalMs: 0 });
  const remote = remoteLibvirtClient(manager, 'hv', { uri: SYSTEM_URI, mode: 'interactive' });
  const local = new VirshLibvirtClient({ uri: SYSTEM_URI, mode: 'interactive' });
  const direct = await QmpClient.connect({ path: qemu.qmpPath });
  const extra = qemu.extraQmpPaths[0];
  if (extra === undefined) throw new Error('no extra QMP socket');
  const forwarded = await QmpClient.connect(manager.unixTarget('hv', extra));
  try {
    await local.define(buildDomainXml({ name, agentSocketPath: path.join(dir, 'agent.sock') }));
    await local.start(name);
    const status = (qmp: QmpExecutor) => (): Promise<unknown> => queryStatus(qmp);
    const ops = {
      remoteVirsh: status(remote.qmpExecutor(name)),
      localVirsh: status(local.qmpExecutor(name)),
      forwardQmp: status(forwarded),
      directQmp: status(direct),
      exec: () => manager.exec('hv', ['true']),
    };
    for (const op of Object.values(ops)) await timeEach(WARMUP, op);
    const samples: Record<keyof typeof ops, number[]> = { remoteVirsh: [], localVirsh: [], forwardQmp: [], directQmp: [], exec: [] };
    // Interleaved blocks so drift in machine load hits every path alike.
    for (let block = 0; block < BLOCKS; block++) {
      for (const key of Object.keys(ops) as (keyof typeof ops)[]) samples[key].push(...(await timeEach(CALLS[key] / BLOCKS, ops[key])));
    }
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)])) as Record<keyof typeof ops, { median: number; p99: number }>;
    const row = (label: string, k: keyof typeof ops): Record<string, string | number> => ({ path: label, median_ms: round(s[k].median), p99_ms: round(s[k].p99), calls: samples[k].length });
    printTable([
      row('virsh over SSH exec channel (long-lived), qemu-monitor-command', 'remoteVirsh'),
      row('local virsh (long-lived), qemu-monitor-command [baseline]', 'localVirsh'),
      row('QmpClient through SSH unix-socket forward', 'forwardQmp'),
      row('QmpClient on the unix socket [baseline]', 'directQmp'),
      row('exec `true` through the manager (new channel per call)', 'exec'),
    ]);
    const m = manager.metrics('hv');
    console.log(`SSH adds ${round(s.remoteVirsh.median - s.localVirsh.median)} ms median to a virsh call and ${round(s.forwardQmp.median - s.directQmp.median)} ms to a direct QMP round trip; manager p50/p99 ${round(m.latencyP50Ms ?? NaN)}/${round(m.latencyP99Ms ?? NaN)} ms over ${m.calls} calls`);
    return {
      name: 'ssh',
      metrics: {
        remoteVirshQueryStatusMedianMs: round(s.remoteVirsh.median, 4),
        remoteVirshQueryStatusP99Ms: round(s.remoteVirsh.p99, 4),
        forwardQmpQueryStatusMedianMs: round(s.forwardQmp.median, 4),
        forwardQmpQueryStatusP99Ms: round(s.forwardQmp.p99, 4),
        execTrueMedianMs: round(s.exec.median, 4),
        execTrueP99Ms: round(s.exec.p99, 4),
        sshOverLocalVirshMedianMs: round(s.remoteVirsh.median - s.localVirsh.median, 4),
        sshOverDirectQmpMedianMs: round(s.forwardQmp.median - s.directQmp.median, 4),
      },
      baseline: {
        localVirshQueryStatusMedianMs: round(s.localVirsh.median, 4),
        localVirshQueryStatusP99Ms: round(s.localVirsh.p99, 4),
        directQmpQueryStatusMedianMs: round(s.directQmp.median, 4),
        directQmpQueryStatusP99Ms: round(s.directQmp.p99, 4),
      },
      env: {
        ...baseEnv(),
        sshd: 'OpenSSH on 127.0.0.1 (loopback), ed25519 keys, ssh2 client in pure JS',
        libvirtUri: SYSTEM_URI,
        accel: 'tcg',
        calls: CALLS,
        baselineDescription: 'the same operations without SSH: a local long-lived virsh on the same libvirt domain, and QmpClient on the same QEMU unix socket the forward reaches',
      },
    };
  } finally {
    await forwarded.close();
    await direct.close();
    await remote.close();
    await local.close();
    await manager.close();
    await removeDomain(name);
    await qemu.cleanup();
    await sshd.cleanup();
    await rm(dir, { recursive: true, force: true });
    await release();
  }
}
