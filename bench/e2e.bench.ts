/**
 * End to end on the lab VM (QEMU TCG, Debian kernel, the guest agent reading
 * evdev, the hub over virtio-serial): the verify pipeline's own figures.
 *
 *  - latency inject → guest kernel event time (clock offset through qemu-ga),
 *    p50/p95/p99, and the agent + hub part: hub receive time − guest event time
 *    (moved onto the host clock);
 *  - open loop: the highest rate with zero defects over 30, 60, 120, 240, 480
 *    keystrokes/s, 300 keystrokes each (lower-case letters and capitals);
 *  - open loop: the rate achieved beside the nominal one (deadline pacing);
 *  - closed loop counted in guest events (the default: at most 56 of the 64
 *    events evdev buffers, the window adapting to the round trip), 1200
 *    keystrokes: keystrokes/s achieved and defects; beside it the older loop
 *    counted in presses (8 and 16 in flight).
 * Input goes through QMP into the guest's virtio keyboard (desktop input
 * profile). Baseline beside it: 30 keystrokes/s, the default typing rate of the best-known
 * VM test framework, run through the same pipeline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import { startLabTarget } from '../host/src/targets/lab-target.js';
import { calibrationSuiteText } from '../host/src/calibrate/calibrate.js';
import { QmpInjector } from '../host/src/inject/index.js';
import { parseSuiteText, runSuite, type PacingFlags, type SuiteRun } from '../host/src/scenario/index.js';
import { baseEnv, printTable, quantile, round, type BenchResult } from './support.js';

const RATES = [30, 60, 120, 240, 480];
const KEYS = 300;

/** A suite that types KEYS pseudo-random letters (calibrate's generator) and expects exactly those keys. */
export const benchSuiteText = (keys: number, seed: number): string => calibrationSuiteText('lab', keys, seed);

interface Row {
  run: string;
  verdict: string;
  defects: number;
  keysPerS: number;
  p50: number;
  p95: number;
  p99: number;
  agentHubP50: number;
  agentHubP99: number;
}

export async function run(): Promise<BenchResult> {
  const loadBefore = os.loadavg().map((l) => round(l, 2));
  const lab = await startLabTarget({ killOnExit: true, inputProfile: 'desktop', keyboard: 'virtio' });
  const rows: Row[] = [];
  try {
    const go = async (label: string, pacing: PacingFlags, seed: number, keys = KEYS): Promise<Row> => {
      const loaded = parseSuiteText(benchSuiteText(keys, seed), `${label}.yaml`);
      const injector = new QmpInjector({ executor: lab.qmp, screen: loaded.scenario.target.screen, ...lab.route });
      const r: SuiteRun = await runSuite(loaded, { injector, hub: lab.hub, agentId: lab.agentId, qmp: lab.qmp, clock: lab.clock, inputDevice: 'virtio keyboard' }, { pacing });
      await injector.close();
      const keyDowns = r.injected.filter((a) => a.action.kind === 'key' && a.action.down && !a.action.key.includes('SHIFT'));
      const first = keyDowns[0]?.sentAt ?? 0;
      const last = keyDowns[keyDowns.length - 1]?.sentAt ?? first;
      const offset = r.report.latency?.clockOffsetMs ?? 0;
      const agentHub = r.observed.flatMap((e, i) => (e.kind === 'key' ? [(r.receivedAt[i] ?? 0) - (e.t - offset)] : []));
      const row: Row = {
        run: label,
        verdict: r.report.verdict,
        defects: r.report.findings.filter((f) => f.kind !== 'error').length,
        keysPerS: round(((keyDowns.length - 1) * 1000) / Math.max(1, last - first), 1),
        p50: round(r.report.latency?.p50Ms ?? Number.NaN, 2),
        p95: round(r.report.latency?.p95Ms ?? Number.NaN, 2),
        p99: round(r.report.latency?.p99Ms ?? Number.NaN, 2),
        agentHubP50: round(quantile(agentHub, 0.5), 2),
        agentHubP99: round(quantile(agentHub, 0.99), 2),
      };
      rows.push(row);
      await sleep(500);
      return row;
    };
    let best = 0;
    let baseline: Row | undefined;
    for (const [i, rate] of RATES.entries()) {
      const row = await go(`open ${rate}/s`, { rate }, i + 1);
      if (rate === 30) baseline = row;
      if (row.defects === 0 && row.verdict === 'pass') best = rate;
    }
    const closed = await go('closed 8 presses in flight', { closedLoop: 8 }, 11, 600);
    const closed16 = await go('closed 16 presses in flight', { closedLoop: 16 }, 12, 600);
    const windowed = await go('closed 56 events in flight', { closedLoop: true }, 13, 1200);
    const open = (rate: number): number => rows.find((r) => r.run === `open ${rate}/s`)?.keysPerS ?? Number.NaN;
    printTable(rows.map((r) => ({ ...r })));
    // The hub's clock offset (its fastest pings) against qemu-ga's guest-get-time, the reference, after all runs.
    const qgaClock = await lab.clock();
    const hubClock = lab.hub.clock(lab.agentId);
    const hubClockMinusQgaMs = round((hubClock?.offsetMs ?? Number.NaN) - qgaClock.offsetMs, 3);
    console.log(`hub clock offset − qemu-ga: ${hubClockMinusQgaMs} ms (hub ±${round(hubClock?.uncertaintyMs ?? Number.NaN, 3)}, qga ±${round(qgaClock.uncertaintyMs, 3)})`);
    const latencyRow = baseline ?? rows[0];
    return {
      name: 'e2e',
      metrics: {
        latencyP50Ms: latencyRow?.p50 ?? Number.NaN,
        latencyP95Ms: latencyRow?.p95 ?? Number.NaN,
        latencyP99Ms: latencyRow?.p99 ?? Number.NaN,
        agentHubP50Ms: latencyRow?.agentHubP50 ?? Number.NaN,
        agentHubP99Ms: latencyRow?.agentHubP99 ?? Number.NaN,
        hubClockMinusQgaMs,
        hubClockUncertaintyMs: round(hubClock?.uncertaintyMs ?? Number.NaN, 3),
        openLoopMaxZeroDefectKeysPerS: best,
        closedLoopKeysPerS: closed.keysPerS,
        closedLoopDefects: closed.defects,
        closedLoop16KeysPerS: closed16.keysPerS,
        closedLoop16Defects: closed16.defects,
        closedLoopP50Ms: closed.p50,
        closedLoopP99Ms: closed.p99,
        closedLoopWindowKeysPerS: windowed.keysPerS,
        closedLoopWindowDefects: windowed.defects,
        closedLoopWindowP50Ms: windowed.p50,
        closedLoopWindowP99Ms: windowed.p99,
        openLoop60AchievedKeysPerS: open(60),
        openLoop120AchievedKeysPerS: open(120),
        closedLoopLimit:
          "evdev's 64-event client buffer: the window counts every event from the QMP call until the hub has it, so a guest that stops reading for a moment gets at most the window; 63 events overflowed once (SYN_DROPPED), 56 never. Throughput = window / round trip, and the round trip is the TCG guest's kernel + agent work plus agent -> hub (QEMU at 120-140 % CPU: the vCPU is saturated)",
      },
      baseline: {
        framework: 'default typing rate of the best-known VM test framework: 30 keystrokes/s',
        keysPerS: baseline?.keysPerS ?? Number.NaN,
        defects: baseline?.defects ?? Number.NaN,
        latencyP50Ms: baseline?.p50 ?? Number.NaN,
        latencyP99Ms: baseline?.p99 ?? Number.NaN,
      },
      env: { ...baseEnv(), loadavgBefore: loadBefore, accel: lab.vm.state.accel, bootMs: lab.vm.bootMs, keyboard: 'virtio', keysPerRun: KEYS, runs: rows },
    };
  } finally {
    await lab.close();
  }
}
