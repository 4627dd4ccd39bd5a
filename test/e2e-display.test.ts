/**
 * Input through the real display path, end to end on the lab VM: QEMU's
 * SPICE server (TLS port, password) and VNC server (password), the guest
 * agent reading evdev, the hub, the verify engine.
 *
 *  - scenarios/smoke.yaml passes through SPICE and through VNC, and the key
 *    sequence the agent observed is the one it observed through QMP;
 *  - SPICE's server mouse mode: moves arrive as relative motion whose sums
 *    reach the corners and the centre within 1 px;
 *  - a wrong password fails the run engine's target with a typed
 *    authentication error and exit code 3;
 *  - the VM paused mid-suite: the report names the missing input and the
 *    paused VM, never "passed";
 *  - a second SPICE client taking the session mid-suite: the suite ends in
 *    an error that says so.
 * One VM serves every test.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedEvent } from '@atp/protocol';
import type { DisplayEndpoint } from '../host/src/display/endpoint.js';
import { SpiceClient } from '../host/src/display/spice/client.js';
import { QmpInjector, type Injector } from '../host/src/inject/index.js';
import { openSpiceInjector } from '../host/src/inject/spice-injector.js';
import { openVncInjector } from '../host/src/inject/vnc-injector.js';
import { labDisplayEndpoint } from '../host/src/lab/index.js';
import { runFleet, type RunResult } from '../host/src/run/index.js';
import { loadSuite, parseSuiteText, planSuite, runSuite, type LoadedSuite, type PacingFlags, type SuiteRun } from '../host/src/scenario/index.js';
import { makeTarget, type TargetOpener } from '../host/src/targets/index.js';
import { cont, queryStatus, stop } from '../host/src/vm/qmp/index.js';
import { startE2eLab, type E2eLab } from './support/e2e-lab.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const SPICE_PASSWORD = 'spice-e2e-pw';
const VNC_PASSWORD = 'vnc-pw';
// Closed loop: each key waits for the agent's report, so a loaded host slows the run instead of losing keys.
const PACING: PacingFlags = { closedLoop: 8 };
let lab: E2eLab | undefined;

beforeAll(async () => {
  lab = await startE2eLab({ display: { spice: { password: SPICE_PASSWORD, tls: true }, vnc: { password: VNC_PASSWORD } } });
}, 600_000);

afterAll(async () => {
  await lab?.stop();
}, 120_000);

function up(): E2eLab {
  if (lab === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  return lab;
}

const endpoint = (protocol: 'spice' | 'vnc'): DisplayEndpoint => labDisplayEndpoint(up().target.vm.state, protocol);

async function runWith(loaded: LoadedSuite, open: () => Promise<Injector>, options: { onStep?: (step: number, phase: 'started' | 'finished') => void } = {}): Promise<SuiteRun> {
  const { target } = up();
  const injector = await open();
  try {
    return await runSuite(loaded, { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, clock: target.clock }, { pacing: PACING, ...options });
  } finally {
    await injector.close();
  }
}

const keySequence = (run: SuiteRun): string[] => run.observed.flatMap((e: ObservedEvent) => (e.kind === 'key' && e.action !== 'repeat' ? [`${e.key}:${e.action}`] : []));

function expectPassed(run: SuiteRun, injector: string): void {
  const { report } = run;
  expect(report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
  expect(report.verdict).toBe('pass');
  expect(report.target.injector).toBe(injector);
  expect(report.counts.expected).toBeGreaterThan(300);
  expect(report.counts.matched).toBe(report.counts.expected);
  // Corners and centre: the 1024×768 suite screen lands on the guest's smaller display surface (its pixels are
  // 1.4–1.9 suite pixels wide), which QEMU scales to its absolute axis: within 1 px per axis of the intended pixel.
  expect(report.pointer?.maxErrorPx).toBeLessThanOrEqual(Math.SQRT2);
  expect(report.latency?.n).toBe(report.counts.matched);
}

describe('the smoke suite through SPICE and VNC', () => {
  let qmpKeys: string[] = [];

  it('passes through QMP (the reference sequence)', async () => {
    const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
    const run = await runWith(loaded, async () => new QmpInjector({ executor: up().target.qmp, screen: loaded.scenario.target.screen }));
    expectPassed(run, 'qmp');
    qmpKeys = keySequence(run);
    expect(qmpKeys.length).toBeGreaterThan(300);
  }, 300_000);

  it('passes through SPICE over TLS with a password, in client mouse mode, and the guest saw the same keys as through QMP', async () => {
    const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
    const run = await runWith(loaded, () => openSpiceInjector(endpoint('spice'), loaded.scenario.target.screen, { mouseMode: 'client' }));
    expectPassed(run, 'spice');
    expect(keySequence(run)).toEqual(qmpKeys);
  }, 300_000);

  it('passes through VNC with a password (QEMU extended key events), and the guest saw the same keys as through QMP', async () => {
    const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
    let mode = '';
    const run = await runWith(loaded, async () => {
      const injector = await openVncInjector(endpoint('vnc'), loaded.scenario.target.screen);
      mode = injector.keyMode;
      return injector;
    });
    expect(mode).toBe('extended');
    expectPassed(run, 'vnc');
    expect(keySequence(run)).toEqual(qmpKeys);
  }, 300_000);
});

describe('client-mode pointer on a suite screen the size of the guest display', () => {
  it('lands every corner and the centre within 1 px through SPICE and through VNC', async () => {
    const probe = await openVncInjector(endpoint('vnc'), { width: 1024, height: 768 });
    const { width, height } = probe.client.surface;
    await probe.close();
    const points = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1], [Math.floor(width / 2), Math.floor(height / 2)]];
    const steps = points.map(([x, y]) => `  - move: { x: ${x}, y: ${y} }\n  - expect: { pointer: { x: ${x}, y: ${y}, tolerancePx: 1 } }`).join('\n');
    const loaded = parseSuiteText(`version: 1\nname: surface-pointer\ntarget: { vm: lab, screen: { width: ${width}, height: ${height} } }\nobserver: agent\ndefaults: { timeoutMs: 10000 }\nsteps:\n${steps}\n`, 'surface-pointer.yaml');
    const screen = loaded.scenario.target.screen;
    for (const open of [() => openSpiceInjector(endpoint('spice'), screen), () => openVncInjector(endpoint('vnc'), screen)]) {
      const run = await runWith(loaded, open);
      expect(run.report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
      expect(run.report.pointer?.maxErrorPx).toBeLessThanOrEqual(1);
    }
  }, 300_000);
});

describe('SPICE server mouse mode', () => {
  it('sends moves as relative motion whose running sums reach the corners and the centre within 1 px; wheel and drag pass', async () => {
    const { target } = up();
    const screen = { width: 1024, height: 768 };
    const injector = await openSpiceInjector(endpoint('spice'), screen, { mouseMode: 'server' });
    try {
      expect(injector.mouseMode).toBe('server');
      const suite = (name: string, steps: string): LoadedSuite =>
        parseSuiteText(`version: 1\nname: ${name}\ntarget: { vm: lab, screen: { width: 1024, height: 768 } }\nobserver: agent\ndefaults: { timeoutMs: 10000 }\nsteps:\n${steps}`, `${name}.yaml`);
      // One injector for every move: its position (home 0,0) carries over, so the guest's running sum of relative motion is the position.
      let x = 0;
      let y = 0;
      for (const [px, py] of [[0, 0], [1023, 0], [1023, 767], [0, 767], [512, 384]] as const) {
        const run = await runSuite(suite(`move-${px}-${py}`, `  - move: { x: ${px}, y: ${py} }\n`), { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp }, { pacing: PACING });
        expect(run.report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
        expect(run.injected.map((a) => a.action.kind)).toEqual(['moveBy']);
        for (const e of run.observed) {
          if (e.kind !== 'rel') continue;
          x += e.dx;
          y += e.dy;
        }
        expect(Math.hypot(x - px, y - py)).toBeLessThanOrEqual(1);
      }
      const run = await runSuite(suite('wheel-drag', '  - wheel: { dy: 2 }\n  - wheel: { dy: -1 }\n  - drag: { from: { x: 100, y: 100 }, to: { x: 300, y: 200 } }\n'), { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp }, { pacing: PACING });
      expect(run.report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
      expect(run.report.verdict).toBe('pass');
    } finally {
      await injector.close();
    }
  }, 300_000);
});

describe('failures through the display path', () => {
  const opener = (label: string, display: DisplayEndpoint): TargetOpener => ({
    label,
    open: async () => {
      const t = up().target;
      return makeTarget({ label, agentId: t.agentId, hub: t.hub, qmp: t.qmp, display: async () => display, openMs: 0, close: async () => undefined });
    },
  });

  it('a wrong password is a typed authentication error for that VM and the run exits 3 (nothing verified)', async () => {
    const loaded = parseSuiteText('version: 1\nname: auth\ntarget: { vm: lab }\nobserver: agent\nsteps:\n  - type: a\n', 'auth.yaml');
    for (const [protocol, code] of [['spice', 'ATP_SPICE_AUTH'], ['vnc', 'ATP_VNC_AUTH']] as const) {
      const wrong = { ...endpoint(protocol), password: 'wrong-pw' };
      const it = runFleet({ suites: [{ loaded, plan: planSuite(loaded.scenario) }], targets: [opener(`lab-${protocol}`, wrong)], hub: up().target.hub, injector: { kind: protocol }, version: 'test' });
      let result: RunResult | undefined;
      const errors: string[] = [];
      for (;;) {
        const next = await it.next();
        if (next.done === true) {
          result = next.value;
          break;
        }
        if (next.value.type === 'target-finished' && next.value.error !== undefined) errors.push(next.value.error.code);
      }
      expect(errors).toEqual([code]);
      expect(result.exitCode).toBe(3);
      expect(JSON.stringify(result.report)).not.toContain('wrong-pw');
    }
  }, 120_000);

  it('the VM paused mid-suite: the report names the missing input and the paused VM, not a pass', async () => {
    const { target } = up();
    const text = 'version: 1\nname: paused\ntarget: { vm: lab }\nobserver: agent\ndefaults: { timeoutMs: 3000, pacing: open }\nsteps:\n  - type: abc\n  - wait: 1500\n  - type: def\n  - expect: { keys: exact, timeoutMs: 3000 }\n';
    const loaded = parseSuiteText(text, 'paused.yaml');
    let run: SuiteRun | undefined;
    try {
      const injector = await openSpiceInjector(endpoint('spice'), loaded.scenario.target.screen);
      try {
        run = await runSuite(loaded, { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, vm: 'lab' }, {
          pacing: { rate: 20 },
          onStep: (step, phase) => {
            if (step === 1 && phase === 'started') void stop(target.qmp);
          },
        });
      } finally {
        await injector.close();
      }
      expect((await queryStatus(target.qmp)).running).toBe(false);
    } finally {
      await cont(target.qmp).catch(() => undefined);
    }
    const report = run.report;
    expect(report.verdict).not.toBe('pass');
    expect(report.counts.missing).toBeGreaterThan(0);
    expect(report.findings.some((f) => f.kind === 'missing')).toBe(true);
    const paused = report.findings.find((f) => f.kind === 'error' && /VM lab was not running \(status paused\)/.test(f.message));
    expect(paused?.message).toMatch(/SPICE input silently/);
  }, 120_000);

  it('a second SPICE client taking the session mid-suite ends the suite with ATP_SPICE_SESSION_TAKEN', async () => {
    const text = 'version: 1\nname: taken\ntarget: { vm: lab }\nobserver: agent\ndefaults: { timeoutMs: 5000 }\nsteps:\n  - type: abc\n  - wait: 1000\n  - type: def\n';
    const loaded = parseSuiteText(text, 'taken.yaml');
    let second: Promise<SpiceClient> | undefined;
    const run = await runWith(loaded, () => openSpiceInjector(endpoint('spice'), loaded.scenario.target.screen), {
      onStep: (step, phase) => {
        if (step === 1 && phase === 'started') second = SpiceClient.connect(endpoint('spice'));
      },
    });
    const other = await second;
    await other?.close();
    expect(run.report.verdict).toBe('error');
    expect(run.report.error?.code).toBe('ATP_SPICE_SESSION_TAKEN');
    expect(run.report.error?.message).toMatch(/another SPICE client/i);
  }, 120_000);
});
