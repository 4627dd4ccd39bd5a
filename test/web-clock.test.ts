/**
 * The clock-offset estimate for a web verifier page holds its promise on a busy
 * machine. Page (real headless Chromium) and hub run on this machine, so both
 * read the same clock and the true offset is 0 (give or take Chromium's 100 µs
 * timer coarsening): every estimate the hub reports over 200+ pings must have
 * |offset| <= uncertainty, and suites typed into the page meanwhile must have no
 * latency that is negative beyond the uncertainty.
 *
 * Why load: with the CPU contended the page's main thread is often busy (page
 * load, input, layout) when a ping arrives, so the ping waits tens of ms on its
 * way in while the pong leaves at once. Those lopsided exchanges are what an
 * estimator that trusts symmetric paths gets wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SuiteReport } from '@atp/protocol';
import type { HubClockEstimate } from '../host/src/hub/index.js';
import { parseSuiteText, runSuite } from '../host/src/scenario/index.js';
import { startCpuLoad, type CpuLoad } from './support/web-load.js';
import { WebInjector } from './support/web-injector.js';
import { startRig, waitForLinkState, type Rig } from './support/web-verifier.js';

const AGENT = 'web-clock';
const MIN_PINGS = 200;
/** Chromium coarsens performance.now() and event times to 100 µs outside cross-origin isolation. */
const PAGE_CLOCK_STEP_MS = 0.1;

let rig: Rig;
let load: CpuLoad | undefined;

beforeAll(async () => {
  // 300 pings 80 ms apart after the welcome, then one a second. The heartbeat
  // (pingIntervalMs) stays at 1 s: the page drops a link silent for three of
  // them, and on a loaded machine its timers can fire late by more than 100 ms.
  rig = await startRig({ timing: { pingIntervalMs: 1000, pingBurst: 300, pingBurstIntervalMs: 80 } });
}, 120_000);

afterAll(async () => {
  await load?.stop();
  await rig?.close();
});

const suite = (text: string, at: { x: number; y: number }): string =>
  [
    'version: 1',
    'name: web clock',
    'target: { vm: chromium, layout: us }',
    'observer: web',
    'steps:',
    `  - type: ${JSON.stringify(text)}`,
    `  - click: left\n    at: { x: ${at.x}, y: ${at.y} }`,
    `  - expect: { text: ${JSON.stringify(text)} }`,
    '',
  ].join('\n');

/** The hub's estimate after each pong (polled every few ms) while `work` runs. */
async function watchEstimates<T>(work: () => Promise<T>): Promise<{ result: T; estimates: HubClockEstimate[] }> {
  const estimates: HubClockEstimate[] = [];
  let pongs = -1;
  const sample = (): void => {
    const e = rig.hub.clock(AGENT);
    const now = rig.hub.metrics().pongsReceived;
    if (e === undefined || now === pongs) return;
    pongs = now;
    estimates.push(e);
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await work();
    sample();
    return { result, estimates };
  } finally {
    clearInterval(timer);
  }
}

describe('clock offset of a page on the same machine, under CPU load', () => {
  it(`brackets 0 over ${MIN_PINGS}+ pings, and no injected key is seen before it was sent`, async () => {
    load = startCpuLoad(2, 90_000);
    const { page } = rig;
    await rig.open(AGENT);
    await waitForLinkState(page, 'ready');
    const injector = await WebInjector.create(page);
    const box = await page.locator('#capture').boundingBox();
    if (box === null) throw new Error('the capture area is not visible');
    const centre = injector.toScreen(box.x + box.width / 2, box.y + box.height / 2);
    const deadline = Date.now() + 120_000;

    const reports: SuiteReport[] = [];
    /** Page time of each key event minus its send time on the host clock (the true offset is 0). */
    const rawKeyLatencies: number[] = [];
    const { estimates } = await watchEstimates(async () => {
      for (let i = 0; rig.hub.metrics().pongsReceived < MIN_PINGS && Date.now() < deadline; i++) {
        // A new spot each time: the page reports no move to where the pointer already is.
        const at = { x: centre.x + (i % 2 === 0 ? i : -i), y: centre.y };
        const loaded = parseSuiteText(suite(`Clock ${i}: quick brown fox?`, at), `clock-${i}.yaml`);
        const run = await runSuite(loaded, { injector, hub: rig.hub, agentId: AGENT, vm: 'chromium' }, { settleMs: 200 });
        reports.push(run.report);
        const sent = run.injected.filter((a) => a.action.kind === 'key');
        const seen = run.observed.filter((e) => e.kind === 'key' && e.action !== 'repeat');
        expect(seen.length, `suite ${i}: one key event per key action`).toBe(sent.length);
        sent.forEach((a, k) => rawKeyLatencies.push((seen[k]?.t ?? Number.NaN) - a.sentAt));
      }
    });
    await load.stop();

    const link = await page.evaluate(() => window.atpVerifier?.status());
    expect(rig.hub.metrics().pongsReceived, `pongs in 120 s (page link: ${JSON.stringify(link)})`).toBeGreaterThanOrEqual(MIN_PINGS);
    // Nearly every pong is seen (two may land between polls on a loaded loop).
    expect(estimates.length).toBeGreaterThanOrEqual(MIN_PINGS / 2);
    const wrong = estimates.filter((e) => Math.abs(e.offsetMs) > e.uncertaintyMs).map((e) => `${e.offsetMs.toFixed(2)} ± ${e.uncertaintyMs.toFixed(2)} ms`);
    expect(wrong, `${wrong.length} of ${estimates.length} estimates exclude the true offset 0`).toEqual([]);

    for (const [i, report] of reports.entries()) {
      expect(report.findings, `suite ${i}`).toEqual([]);
      expect(report.verdict).toBe('pass');
      expect(report.latency?.n).toBeGreaterThan(0);
    }
    // The page's event times are on the clock the pings measured: none precedes its send.
    expect(rawKeyLatencies.length).toBeGreaterThan(100);
    expect(Math.min(...rawKeyLatencies)).toBeGreaterThanOrEqual(-PAGE_CLOCK_STEP_MS);
  }, 180_000);
});
