/**
 * The web console's pure parts, without a browser: hash routes, the event
 * stream's resume rule (subscribe after the last index, drop resends, start
 * over on a new server epoch, skip a gap), run progress folded from run events
 * (each applied once), the finding diff, the plots' bins and ticks, the POST
 * /runs body the start form builds, and the metrics window.
 */
import { describe, expect, it } from 'vitest';
import { parseWith, ApiRunRequestSchema, type ApiMetricsSample, type RunEvent } from '@atp/protocol';
import { EventCursor } from '../web-console/src/events.js';
import { diffFields, visibleControls } from '../web-console/src/findings.js';
import { histogramBins, niceTicks } from '../web-console/src/plots.js';
import { applyRunData, emptyProgress, vmStateWord, verdictOf } from '../web-console/src/progress.js';
import { parseRoute, routeHash } from '../web-console/src/router.js';
import { addSample } from '../web-console/src/views/monitor.js';
import { resultText } from '../web-console/src/views/runs.js';
import { runRequest, suitePath } from '../web-console/src/views/start-run.js';

const at = (s: number): string => new Date(Date.UTC(2026, 11, 7, 4, 0, s)).toISOString();

/** A run event before numbering (Omit distributed over the union). */
type Unnumbered = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'seq'> : never) : never;

function runEvents(): RunEvent[] {
  const base = { runId: 'r1' };
  const list: Unnumbered[] = [
    { ...base, at: at(0), type: 'run-started', targets: ['lab-01', 'lab-02'], suites: ['smoke'], concurrency: 2, onFailure: 'continue' },
    { ...base, at: at(1), type: 'target-opened', target: 'lab-01', agentId: 'lab-01', openMs: 900 },
    { ...base, at: at(2), type: 'step-started', target: 'lab-01', round: 1, suite: 'smoke', step: 0, label: 'letters' },
    { ...base, at: at(3), type: 'step-finished', target: 'lab-01', round: 1, suite: 'smoke', step: 0 },
    { ...base, at: at(4), type: 'step-started', target: 'lab-01', round: 1, suite: 'smoke', step: 1, label: 'digits' },
    { ...base, at: at(5), type: 'finding', target: 'lab-01', round: 1, suite: 'smoke', finding: { kind: 'missing', step: 1, expected: { key: 'KEY_1' }, message: 'KEY_1 never arrived' } },
    { ...base, at: at(6), type: 'step-finished', target: 'lab-01', round: 1, suite: 'smoke', step: 1 },
    { ...base, at: at(7), type: 'suite-finished', target: 'lab-01', round: 1, suite: 'smoke', verdict: 'fail', keys: 40, defects: 1, p99Ms: 12, durationMs: 5000 },
    { ...base, at: at(8), type: 'target-finished', target: 'lab-01', outcome: 'failed', rounds: 1 },
  ];
  return list.map((e, seq) => ({ ...e, seq }) as RunEvent);
}

describe('console routes', () => {
  it('parses every view and round-trips ids with odd characters', () => {
    expect(parseRoute('')).toEqual({ view: 'hosts' });
    expect(parseRoute('#/nowhere')).toEqual({ view: 'hosts' });
    expect(parseRoute('#/runs')).toEqual({ view: 'runs' });
    expect(parseRoute('#/monitor')).toEqual({ view: 'monitor' });
    expect(parseRoute('#/start?vm=web-01%40hv2')).toEqual({ view: 'start', vm: 'web-01@hv2' });
    for (const route of [{ view: 'run', id: 'a b/c' }, { view: 'start', vm: 'x@y' }, { view: 'monitor' }] as const) expect(parseRoute(routeHash(route))).toEqual(route);
  });
});

describe('event stream cursor', () => {
  const event = (index: number) => ({ type: 'event', event: { index, at: at(index), kind: 'run', runId: 'r1', data: { type: 'x' } } });

  it('subscribes after the last index it handled and drops resends', () => {
    const cursor = new EventCursor(0, { kinds: ['run'], runId: 'r1' });
    expect(cursor.take({ type: 'ready', lastIndex: 5, oldest: 1, epoch: 'e1' })).toEqual({ send: { type: 'subscribe', after: 0, kinds: ['run'], runId: 'r1' } });
    expect(cursor.take(event(1))?.event?.index).toBe(1);
    expect(cursor.take(event(2))?.event?.index).toBe(2);
    // Reconnect: same epoch, resume after 2; the server resends 2 (dropped) then 3.
    expect(cursor.take({ type: 'ready', lastIndex: 9, oldest: 1, epoch: 'e1' })?.send).toMatchObject({ after: 2 });
    expect(cursor.take(event(2))).toBeUndefined();
    expect(cursor.take(event(3))?.event?.index).toBe(3);
    expect(cursor.take({ type: 'nonsense' })).toBeUndefined();
    expect(cursor.take({ type: 'error', error: { code: 'ATP_API_AUTH', message: 'no' } })).toEqual({ error: 'ATP_API_AUTH: no' });
  });

  it("starts at the server's newest index in 'now' mode, and over from 0 when the server restarted", () => {
    const cursor = new EventCursor('now');
    expect(cursor.take(event(1))).toBeUndefined(); // nothing before ready
    expect(cursor.take({ type: 'ready', lastIndex: 40, oldest: 1, epoch: 'e1' })?.send).toEqual({ type: 'subscribe', after: 40 });
    expect(cursor.take(event(41))?.event?.index).toBe(41);
    const restarted = cursor.take({ type: 'ready', lastIndex: 3, oldest: 1, epoch: 'e2' });
    expect(restarted).toEqual({ send: { type: 'subscribe', after: 0 }, gap: 1 });
    expect(cursor.take(event(1))?.event?.index).toBe(1);
  });

  it('skips to the oldest held index after a gap', () => {
    const cursor = new EventCursor(0);
    cursor.take({ type: 'ready', lastIndex: 500, oldest: 300, epoch: 'e' });
    expect(cursor.take({ type: 'gap', oldest: 300 })).toEqual({ gap: 300 });
    expect(cursor.lastIndex).toBe(299);
    expect(cursor.take(event(300))?.event?.index).toBe(300);
  });
});

describe('run progress', () => {
  it('folds run events into per-VM progress, each event once, status markers included', () => {
    const progress = emptyProgress();
    expect(applyRunData(progress, { type: 'run-status', status: 'running' })).toBe(true);
    for (const e of runEvents()) expect(applyRunData(progress, e)).toBe(true);
    for (const e of runEvents()) expect(applyRunData(progress, e)).toBe(false); // resent after a reconnect
    expect(applyRunData(progress, { type: 'garbage' })).toBe(false);
    expect(progress.targets).toEqual(['lab-01', 'lab-02']);
    const one = progress.vms.get('lab-01');
    const two = progress.vms.get('lab-02');
    expect(one).toMatchObject({ state: 'finished', outcome: 'failed', openMs: 900, stepsDone: 2, step: 1, stepLabel: 'digits' });
    expect(one?.findings).toHaveLength(1);
    expect(one?.suites).toEqual([{ suite: 'smoke', round: 1, verdict: 'fail', keys: 40, defects: 1, p99Ms: 12, durationMs: 5000 }]);
    expect(progress.suiteSteps.get('smoke')).toBe(2);
    expect(two && vmStateWord(two)).toBe('waiting');
    expect(one && vmStateWord(one)).toBe('failed');
    expect([verdictOf(0), verdictOf(1), verdictOf(3), verdictOf(undefined)]).toEqual(['passed', 'failed', 'error', undefined]);
  });
});

describe('finding diff', () => {
  it('lines up both sides field by field and marks the differences', () => {
    expect(diffFields({ key: 'KEY_A', modifiers: ['shift'] }, { key: 'KEY_B', modifiers: ['shift'], atMs: 4 })).toEqual([
      { field: 'key', expected: 'KEY_A', observed: 'KEY_B', differs: true },
      { field: 'modifiers', expected: '["shift"]', observed: '["shift"]', differs: false },
      { field: 'atMs', expected: '–', observed: '4', differs: true },
    ]);
    expect(diffFields({ key: 'KEY_A' }, undefined)).toEqual([{ field: 'key', expected: 'KEY_A', observed: '–', differs: false }]);
    expect(visibleControls('red \u001b[31m bell\u0007 tab\tnl\n del\u007f')).toBe('red \\x1b[31m bell\\x07 tab\tnl\n del\\x7f');
  });
});

describe('plots', () => {
  it('picks round ticks covering the range and bins every value once', () => {
    expect(niceTicks(0, 9.3)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const values = [0, 1, 2, 3, 4.9, 5, 19.99, 20];
    const { edges, counts } = histogramBins(values, 4);
    expect(edges).toEqual([0, 5, 10, 15, 20]);
    expect(counts).toEqual([5, 1, 0, 2]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(values.length);
  });
});

describe('start-run form', () => {
  it('builds request bodies the runs API accepts', () => {
    const lab = runRequest({ suites: ['smoke.yaml'], target: { kind: 'lab', count: 2 }, rounds: 3, onFailure: 'stop-all' });
    expect(lab).toEqual({ suites: ['smoke.yaml'], targets: { lab: { count: 2 } }, rounds: 3, onFailure: 'stop-all' });
    const one = runRequest({ suites: ['a.yaml'], target: { kind: 'vms', selector: 'web-01', host: 'hv2', token: 't' }, onFailure: 'continue' });
    expect(one.targets).toEqual({ vm: 'web-01@hv2', token: 't' });
    const many = runRequest({ suites: ['a.yaml'], target: { kind: 'vms', selector: 'web-*', host: '', token: 't' }, concurrency: 4, onFailure: 'continue' });
    expect(many.targets).toEqual({ vms: 'web-*', token: 't' });
    const paced = runRequest({ suites: ['smoke.yaml'], target: { kind: 'lab', count: 1 }, onFailure: 'continue', closedLoop: true });
    expect(paced).toEqual({ suites: ['smoke.yaml'], targets: { lab: {} }, onFailure: 'continue', pacing: { closedLoop: true } });
    for (const body of [lab, one, many, paced]) expect(() => parseWith(ApiRunRequestSchema, body)).not.toThrow();
    expect(suitePath('/srv/atp/scenarios/smoke.yaml', ['/srv/other', '/srv/atp/scenarios'])).toBe('smoke.yaml');
    expect(suitePath('/elsewhere/x.yaml', ['/srv/atp/scenarios'])).toBe('/elsewhere/x.yaml');
  });

  it('says what a finished run came to', () => {
    expect(resultText({ vms: { total: 3, passed: 2, failed: 1, infraError: 0, aborted: 0, notRun: 0 } })).toBe('2 passed, 1 failed of 3');
    expect(resultText({ error: { code: 'ATP_LAB_BOOT', message: 'x' } })).toBe('ATP_LAB_BOOT');
  });
});

describe('metrics window', () => {
  it('keeps samples in time order, once each, the newest ones', () => {
    const sample = (s: number): ApiMetricsSample => ({
      at: at(s),
      intervalMs: 2000,
      sessions: 0,
      connections: 0,
      eventsPerSec: s,
      eventsTotal: s,
      agents: [],
      eventLoopDelay: { p50Ms: 1, p99Ms: 2, maxMs: 3 },
      rssBytes: 1,
      eventClients: 1,
    });
    let samples: ApiMetricsSample[] = [];
    for (const s of [3, 1, 2, 2, 4]) samples = addSample(samples, sample(s), 3);
    expect(samples.map((s) => s.eventsPerSec)).toEqual([2, 3, 4]);
  });
});
