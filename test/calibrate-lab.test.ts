/**
 * `atp-host calibrate --lab` end to end (real QEMU TCG lab VM, the agent, the
 * hub; an uncounted warm-up, then a bounded search of 150 keystrokes per run
 * and at most 10 runs, room for a confirmation that fails to step down, as one
 * does now and then when the loaded host stalls the guest for 250 ms and its
 * kernel autorepeats a held key): it prints and stores a rate 20 % below the
 * edge (the highest rate that verified with zero defects and was achieved),
 * confirmed by two passing runs; then, on a second lab VM, a suite saying
 * `rate: calibrated` runs open loop at that stored rate, and
 * the same suite well above the edge fails calibrate's criterion (defects, or
 * a rate the injector cannot deliver: on a quiet host the lab guest loses
 * nothing QMP can send, so the injector's speed is the edge there).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../host/src/cli/program.js';
import { QmpInjector } from '../host/src/inject/index.js';
import { parseSuiteText, runSuite, type PacingFlags, type SuiteRun } from '../host/src/scenario/index.js';
import { CalibrationStore } from '../host/src/scenario/calibration-store.js';
import { calibrationText, probePasses, probeResult, WARM_UP_KEYS, WARM_UP_RATE } from '../host/src/calibrate/calibrate.js';
import { startE2eLab, type E2eLab } from './support/e2e-lab.js';

let configDir: string;
let lab: E2eLab | undefined;

beforeAll(async () => {
  configDir = await mkdtemp(path.join(os.tmpdir(), 'atp-calibrate-config-'));
});

afterAll(async () => {
  await lab?.stop();
  await rm(configDir, { recursive: true, force: true });
}, 120_000);

interface CalibrateJson {
  calibration: { vm: string; injector: string; inputDevice?: string; rateKeysPerS: number; edgeKeysPerS?: number; failedAtKeysPerS?: number; latencyP50Ms?: number };
  file: string;
  runs: { phase: string; rate: number; verdict: string; defects: number }[];
}

const suiteText = (keys: number): string =>
  `version: 1\nname: calibrated\ntarget: { vm: lab, layout: us }\nobserver: agent\ndefaults: { rate: calibrated, timeoutMs: 10000 }\nsteps:\n  - type: ${JSON.stringify(calibrationText(keys, 77))}\n  - expect: { keys: exact }\n`;

async function typeSuite(pacing: PacingFlags, keys = 150): Promise<SuiteRun> {
  if (lab === undefined) throw new Error('the lab VM did not start');
  const { target } = lab;
  const loaded = parseSuiteText(suiteText(keys), 'calibrated.yaml');
  const injector = new QmpInjector({ executor: target.qmp, screen: loaded.scenario.target.screen });
  try {
    return await runSuite(loaded, { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, clock: target.clock, vm: 'lab', inputDevice: 'ps2 keyboard' }, { pacing });
  } finally {
    await injector.close();
  }
}

describe('atp-host calibrate on the lab VM', () => {
  let calibrated: CalibrateJson | undefined;

  it('finds a rate with a bounded search, confirms it, prints it with its latency and stores it', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['calibrate', '--lab', '--config-dir', configDir, '--keys', '150', '--start-rate', '60', '--max-rate', '480', '--max-runs', '10', '--resolution', '0.3', '--json'], {
      out: (t) => void out.push(t),
      err: (t) => void err.push(t),
    });
    console.log(err.join(''));
    expect(code, err.join('')).toBe(0);
    calibrated = JSON.parse(out.join('')) as CalibrateJson;
    const { calibration, runs } = calibrated;
    expect(calibration).toMatchObject({ vm: 'lab', injector: 'qmp', inputDevice: 'ps2 keyboard' });
    expect(runs.length).toBeLessThanOrEqual(10);
    // The last two runs: the confirmations at the kept rate, 20 % below the highest rate that passed.
    for (const confirm of runs.slice(-2)) expect(confirm).toMatchObject({ phase: 'confirm', rate: calibration.rateKeysPerS, verdict: 'pass', defects: 0 });
    if (calibration.failedAtKeysPerS !== undefined) expect(calibration.rateKeysPerS).toBeLessThanOrEqual(Math.floor((calibration.edgeKeysPerS ?? 0) * 0.8));
    expect(calibration.latencyP50Ms).toBeGreaterThan(0);
    expect((await new CalibrationStore(configDir).find({ vm: 'lab', injector: 'qmp', inputDevice: 'ps2 keyboard' }))?.rateKeysPerS).toBe(calibration.rateKeysPerS);
  }, 600_000);

  it('runs a rate: calibrated suite at the stored rate, and fails calibrate\'s criterion well above the edge', async () => {
    if (calibrated === undefined) throw new Error('the calibration did not run (see the previous test)');
    const rate = calibrated.calibration.rateKeysPerS;
    lab = await startE2eLab();
    // A freshly booted guest's first keys pay its first-use costs (the calibration's runs came after a
    // warm-up): 30 keystrokes at 10 keys/s first, as calibrate's own warm-up run did.
    await typeSuite({ rate: WARM_UP_RATE }, WARM_UP_KEYS);
    const atRate = await typeSuite({ calibration: new CalibrationStore(configDir) });
    // The suite ran open loop at the stored rate (what it achieved depends on the host's load: printed).
    expect(atRate.pacing).toMatchObject({ mode: 'open', rate });
    const at = probeResult(rate, atRate);
    expect(atRate.report.verdict, JSON.stringify(at)).not.toBe('error');
    // Not asserted: zero defects on this second boot. The two confirming runs above are the evidence at
    // that rate; an open loop has no bound on what waits in the guest, and a TCG guest whose vCPU the
    // loaded host preempted drains QEMU's queue in a burst faster than its reader is scheduled
    // (seen once at 192 keys/s: SYN_DROPPED). The closed loop is the pacing without that exposure.
    console.log(`rate: calibrated on a second boot: ${JSON.stringify(at)}`);
    // Far above the edge: near it a rate passes or fails with the machine's load (a calibration made under
    // load kept 40 keys/s, and 180 then passed on a quieter host). At 5,000 keys/s either QMP cannot deliver
    // the rate or the catch-up packs more keys into a call than QEMU's AT keyboard queue holds.
    const faster = Math.max(3 * (calibrated.calibration.failedAtKeysPerS ?? 0), 4 * rate, 5_000);
    const fast = probeResult(faster, await typeSuite({ rate: faster }));
    console.log(`calibrated ${rate} keys/s: ${atRate.report.verdict}; ${faster} keys/s: ${JSON.stringify(fast)}`);
    // Faster fails calibrate's criterion: defects, or a rate the injector could not deliver (then it was not tested).
    expect(probePasses(fast), JSON.stringify(fast)).toBe(false);
  }, 600_000);
});
