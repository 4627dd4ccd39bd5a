/**
 * The Windows agent's low-level hooks on real input: the win-x64 single-file
 * agent under wine on an Xvfb display with Notepad focused (test/support/
 * wine-rig.ts), X input sent through XTEST, and the normal verify engine
 * judging what the hooks observed, as the lab tests do for the Linux agent.
 *
 * What this proves: WH_KEYBOARD_LL / WH_MOUSE_LL on their hook thread, the koffi
 * calls, the scancode / extended-flag / VK mapping to canonical keys, pointer
 * coordinates in the virtual-screen range, the wheel, and the agent's link, in
 * the shipped executable. What it cannot: Windows' own input stack, session 0,
 * the secure desktop and the installer's logon task (see guest-agent/README.md).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Injector } from '../host/src/inject/index.js';
import { loadSuite, runSuite, type SuiteRun } from '../host/src/scenario/index.js';
import { FaultyInjector, type Faults } from './support/e2e-faulty-injector.js';
import { startWineRig, type WineRig } from './support/wine-rig.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
let rig: WineRig | undefined;

beforeAll(async () => {
  rig = await startWineRig();
}, 900_000);

afterAll(async () => {
  await rig?.stop();
}, 120_000);

function up(): WineRig {
  if (rig === undefined) throw new Error('the wine rig did not start (see beforeAll)');
  return rig;
}

async function run(faults?: Faults): Promise<SuiteRun> {
  const { hub, agentId, injector } = up();
  const loaded = await loadSuite(path.join(repo, 'scenarios/windows-hooks.yaml'));
  const inner = injector();
  const used: Injector = faults === undefined ? inner : new FaultyInjector(inner, faults);
  try {
    return await runSuite(loaded, { injector: used, hub, agentId }, { pacing: { rate: 20 } });
  } finally {
    await used.close();
  }
}

describe('the Windows agent under wine with real X input', () => {
  it('observes the windows-hooks suite through its hooks with no finding, with clock-corrected latency', async () => {
    const { report, observed } = await run();
    expect(report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
    expect(report.verdict).toBe('pass');
    expect(report.counts.matched).toBe(report.counts.expected);
    expect(report.counts.expected).toBeGreaterThan(250);
    expect(report.pointer?.maxErrorPx).toBe(0);
    // The agent and the hub share this machine: the corrected latencies are positive and bounded by the clock's uncertainty.
    const latency = report.latency;
    expect(latency?.n).toBe(report.counts.matched);
    expect(Math.abs(latency?.clockOffsetMs ?? Infinity)).toBeLessThanOrEqual((latency?.clockUncertaintyMs ?? 0) + 1);
    expect(latency?.p50Ms).toBeGreaterThan(0);
    // The extended keys came through the hooks with their E0 scancodes.
    const scancode = (key: string): number | undefined => {
      const e = observed.find((x) => x.kind === 'key' && x.key === key);
      return e?.kind === 'key' ? e.native?.scancode : undefined;
    };
    expect([scancode('KEY_RIGHTCTRL'), scancode('KEY_RIGHTALT'), scancode('KEY_KPENTER'), scancode('KEY_KPSLASH'), scancode('KEY_INSERT'), scancode('KEY_UP')]).toEqual([
      0xe01d, 0xe038, 0xe01c, 0xe035, 0xe052, 0xe048,
    ]);
    const devices = (report.devices ?? []).map((d) => `${d.id}:${d.events > 0 ? 'input' : 'none'}`);
    expect(devices).toEqual(['win-keyboard:input', 'win-mouse:input']);
    expect(report.agentProblems ?? []).toEqual([]);
    console.log(
      `wine hooks: ${report.counts.matched}/${report.counts.expected} transitions, ${observed.length} events, latency p50 ${latency?.p50Ms.toFixed(1)} / p95 ${latency?.p95Ms.toFixed(1)} / p99 ${latency?.p99Ms.toFixed(1)} ms (clock ${latency?.clockOffsetMs.toFixed(2)} ± ${latency?.clockUncertaintyMs.toFixed(2)} ms)`,
    );
  }, 300_000);

  it('names exactly a dropped and a doubled key', async () => {
    const { report } = await run({ drop: ['KEY_Q'], double: ['KEY_KPSLASH'] });
    expect(report.verdict).toBe('fail');
    expect(report.findings.map((f) => `${f.kind} ${String(f.observed?.['key'] ?? f.expected?.['key'] ?? '?')}`).sort()).toEqual(['duplicate KEY_KPSLASH', 'missing KEY_Q']);
    expect(report.counts).toMatchObject({ missing: 1, duplicate: 1, extra: 0, reordered: 0, stuck: 0, wrongKey: 0 });
  }, 300_000);

  it('runs in the console session of the input desktop, so it warns of nothing', async () => {
    const hello = up().hub.agentHello(up().agentId);
    expect(hello?.capabilities).toEqual(expect.arrayContaining(['win-session:1', 'win-console-session:1', 'win-desktop:Default']));
    expect(hello?.problems ?? []).toEqual([]);
    expect(await up().agentLog()).not.toContain('ATP_CAPTURE_SESSION');
  });
});
