/**
 * libvirt bench: per-call latency of QMP query-status on a libvirt domain
 * 1. through the long-lived interactive virsh (qemu-monitor-command),
 * 2. through one virsh process per call,
 * and, as the baseline, direct QMP (QmpClient) on a separate plain QEMU: a
 * libvirt domain's own QMP socket is held by libvirtd, so the direct path can
 * only be measured on a QEMU libvirt does not manage. Median and p99.
 * Also send-key through the long-lived virsh (libvirt's own input path).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { QmpClient, queryStatus, type QmpExecutor } from '../host/src/vm/qmp/index.js';
import { buildDomainXml, VirshLibvirtClient } from '../host/src/vm/libvirt/index.js';
import { startQemu } from '../host/test/support/qemu.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from '../host/test/support/libvirtd.js';
import { baseEnv, printTable, round, stats, timeEach, type BenchResult } from './support.js';

const WARMUP = 50;
const INTERACTIVE_CALLS = 1000;
const PER_CALL_CALLS = 150;
const DIRECT_CALLS = 2000;
const SEND_KEY_CALLS = 200;


export async function run(): Promise<BenchResult> {
  const release = await acquireLibvirtSuiteLock();
  await ensureLibvirtd();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-libvirt-bench-'));
  const name = testDomainName('atp-bench');
  const interactive = new VirshLibvirtClient({ uri: SYSTEM_URI, mode: 'interactive' });
  const perCall = new VirshLibvirtClient({ uri: SYSTEM_URI, mode: 'per-call' });
  const qemu = await startQemu({ trace: false });
  const direct = await QmpClient.connect({ path: qemu.qmpPath });
  try {
    await interactive.define(buildDomainXml({ name, agentSocketPath: path.join(dir, 'agent.sock') }));
    await interactive.start(name);
    const status = (qmp: QmpExecutor) => (): Promise<unknown> => queryStatus(qmp);
    const viaInteractive = status(interactive.qmpExecutor(name));
    const viaPerCall = status(perCall.qmpExecutor(name));
    const viaDirect = status(direct);
    await timeEach(WARMUP, viaInteractive);
    await timeEach(10, viaPerCall);
    await timeEach(WARMUP, viaDirect);
    // Interleaved blocks so drift in machine load hits every path alike.
    const samples = { interactive: [] as number[], perCall: [] as number[], direct: [] as number[], sendKey: [] as number[] };
    for (let block = 0; block < 5; block++) {
      samples.interactive.push(...(await timeEach(INTERACTIVE_CALLS / 5, viaInteractive)));
      samples.perCall.push(...(await timeEach(PER_CALL_CALLS / 5, viaPerCall)));
      samples.direct.push(...(await timeEach(DIRECT_CALLS / 5, viaDirect)));
      samples.sendKey.push(...(await timeEach(SEND_KEY_CALLS / 5, () => interactive.sendKey(name, ['KEY_A'], { holdTimeMs: 0 }))));
    }
    const i = stats(samples.interactive);
    const p = stats(samples.perCall);
    const d = stats(samples.direct);
    const k = stats(samples.sendKey);
    printTable([
      { path: 'long-lived virsh, qemu-monitor-command', median_ms: round(i.median), p99_ms: round(i.p99), calls: samples.interactive.length },
      { path: 'virsh per call, qemu-monitor-command', median_ms: round(p.median), p99_ms: round(p.p99), calls: samples.perCall.length },
      { path: 'direct QMP (plain QEMU, QmpClient) [baseline]', median_ms: round(d.median), p99_ms: round(d.p99), calls: samples.direct.length },
      { path: 'long-lived virsh, send-key (hold 0)', median_ms: round(k.median), p99_ms: round(k.p99), calls: samples.sendKey.length },
    ]);
    console.log(`long-lived virsh is ${round(p.median / i.median, 1)}x faster than a process per call; it adds ${round(i.median - d.median)} ms median over direct QMP`);
    return {
      name: 'libvirt',
      metrics: {
        interactiveQueryStatusMedianMs: round(i.median, 4),
        interactiveQueryStatusP99Ms: round(i.p99, 4),
        perCallQueryStatusMedianMs: round(p.median, 4),
        perCallQueryStatusP99Ms: round(p.p99, 4),
        interactiveSendKeyMedianMs: round(k.median, 4),
        interactiveSendKeyP99Ms: round(k.p99, 4),
        interactiveOverDirectMedianMs: round(i.median - d.median, 4),
        perCallOverInteractiveRatio: round(p.median / i.median, 2),
      },
      baseline: { directQmpQueryStatusMedianMs: round(d.median, 4), directQmpQueryStatusP99Ms: round(d.p99, 4) },
      env: {
        ...baseEnv(),
        libvirtUri: SYSTEM_URI,
        accel: 'tcg',
        calls: { interactive: INTERACTIVE_CALLS, perCall: PER_CALL_CALLS, direct: DIRECT_CALLS, sendKey: SEND_KEY_CALLS },
        baselineDescription: "direct QMP over a unix socket to a separate, unmanaged QEMU (a libvirt domain's QMP socket belongs to libvirtd)",
      },
    };
  } finally {
    await direct.close();
    await qemu.cleanup();
    await interactive.close();
    await perCall.close();
    await removeDomain(name);
    await rm(dir, { recursive: true, force: true });
    await release();
  }
}
