/**
 * `atp-host calibrate --lab` end to end (real QEMU TCG lab VM, the agent, the
 * hub; a small bounded search: 150 keystrokes per run, at most 5 runs): it
 * prints and stores a rate whose confirming run passed; then, on a second lab
 * VM, a suite saying `rate: calibrated` runs at that stored rate with zero
 * defects, and the same suite three times faster fails verification.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../host/src/cli/program.js';
import { QmpInjector } from '../host/src/inject/index.js';
import { parseSuiteText, runSuite, type PacingFlags, type SuiteRun } from '../host/src/scenario/index.js';
import { CalibrationStore } from '../host/src/scenario/calibration-store.js';
import { calibrationText } from '../host/src/calibrate/calibrate.js';
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
  calibration: { vm: string; injector: string; inputDevice?: string; rateKeysPerS: number; failedAtKeysPerS?: number; latencyP50Ms?: number };
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
    const code = await runCli(['calibrate', '--lab', '--config-dir', configDir, '--keys', '150', '--start-rate', '40', '--max-rate', '320', '--max-runs', '5', '--resolution', '0.3', '--json'], {
      out: (t) => void out.push(t),
      err: (t) => void err.push(t),
    });
    expect(code, err.join('')).toBe(0);
    calibrated = JSON.parse(out.join('')) as CalibrateJson;
    const { calibration, runs } = calibrated;
    expect(calibration).toMatchObject({ vm: 'lab', injector: 'qmp', inputDevice: 'ps2 keyboard' });
    expect(runs.length).toBeLessThanOrEqual(5);
    const confirm = runs.at(-1);
    expect(confirm).toMatchObject({ phase: 'confirm', rate: calibration.rateKeysPerS, verdict: 'pass', defects: 0 });
    expect(calibration.latencyP50Ms).toBeGreaterThan(0);
    expect((await new CalibrationStore(configDir).find({ vm: 'lab', injector: 'qmp', inputDevice: 'ps2 keyboard' }))?.rateKeysPerS).toBe(calibration.rateKeysPerS);
  }, 600_000);

  it('runs a rate: calibrated suite at the stored rate with zero defects, and fails verification three times faster', async () => {
    if (calibrated === undefined) throw new Error('the calibration did not run (see the previous test)');
    const rate = calibrated.calibration.rateKeysPerS;
    lab = await startE2eLab();
    // A freshly booted guest's agent misses events for its first seconds (the calibration ran on a warm
    // one): 20 keystrokes at 10 keys/s first, as the calibration's own first, slow run did.
    await typeSuite({ rate: 10 }, 20);
    const atRate = await typeSuite({ calibration: new CalibrationStore(configDir) });
    expect(atRate.pacing).toMatchObject({ mode: 'open', rate });
    expect(atRate.report.findings.map((f) => `${f.kind}: ${f.message}`), JSON.stringify(calibrated.runs)).toEqual([]);
    expect(atRate.report.verdict).toBe('pass');
    const faster = Math.max(calibrated.calibration.failedAtKeysPerS ?? 0, 3 * rate);
    const fast = await typeSuite({ rate: faster });
    expect(fast.report.verdict, `at ${faster} keys/s`).toBe('fail');
    expect(fast.report.findings.filter((f) => f.kind !== 'error').length).toBeGreaterThan(0);
  }, 600_000);
});
