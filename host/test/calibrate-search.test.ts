/**
 * The calibration search on probes with a known threshold (pure: each probe
 * answers pass below the threshold), the calibration store on real files,
 * and a suite's `rate: calibrated` resolved through it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keptRate, searchRate, type SearchOptions } from '../src/calibrate/search.js';
import { CalibrationStore, calibratedPacing, type Calibration } from '../src/scenario/calibration-store.js';
import { resolvePacing } from '../src/scenario/pacing-policy.js';
import { parseScenario } from '@atp/protocol';

const OPTIONS: SearchOptions = { startRate: 30, maxRate: 480, minRate: 5, resolution: 0.15, maxRuns: 12, margin: 0.2, confirmations: 2 };
const threshold = (limit: number) => (rate: number): Promise<{ pass: boolean; result: number }> => Promise.resolve({ pass: rate <= limit, result: rate });

describe('the rate search', () => {
  it('doubles up to the first failure, bisects to the resolution, and keeps a rate 20 % below that edge, confirmed twice', async () => {
    const outcome = await searchRate(threshold(100), OPTIONS);
    expect(outcome.steps.map((s) => [s.phase, s.rate, s.pass])).toEqual([
      ['explore', 30, true], ['explore', 60, true], ['explore', 120, false],
      ['bisect', 85, true], ['bisect', 101, false], ['bisect', 93, true], ['confirm', 74, true], ['confirm', 74, true],
    ]);
    expect(outcome.edge).toBe(93);
    expect(outcome.rate).toBe(74);
    expect(outcome.failedAt).toBe(101);
    expect(outcome.failedAt ?? 0).toBeLessThanOrEqual((outcome.edge ?? 0) * 1.15);
    expect(keptRate(93, { margin: 0, minRate: 5 })).toBe(93);
  });

  it('halves while the first rates fail, and reports no rate when even the lowest fails', async () => {
    expect((await searchRate(threshold(10), OPTIONS)).rate).toBeGreaterThanOrEqual(8);
    const none = await searchRate(threshold(1), OPTIONS);
    expect(none.rate).toBeUndefined();
    expect(none.steps.map((s) => s.rate)).toEqual([30, 15, 8]);
  });

  it('stops at maxRate when everything passes, never runs more than maxRuns, and steps down when a confirmation fails', async () => {
    // No failure up to maxRate: no edge, so maxRate itself is confirmed.
    const all = await searchRate(threshold(10_000), OPTIONS);
    expect(all.rate).toBe(480);
    expect(all.failedAt).toBeUndefined();
    const few = await searchRate(threshold(100), { ...OPTIONS, maxRuns: 4 });
    expect(few.steps.map((s) => [s.phase, s.rate])).toEqual([['explore', 30], ['explore', 60], ['confirm', 60], ['confirm', 60]]);
    // A flaky rate: 74 passes once, then fails its second confirmation; one resolution step lower holds.
    let seen74 = 0;
    const flaky = await searchRate((rate) => Promise.resolve({ pass: rate === 74 ? seen74++ === 0 : rate <= 100, result: rate }), OPTIONS);
    expect(flaky.steps.filter((s) => s.phase === 'confirm').map((s) => [s.rate, s.pass])).toEqual([[74, true], [74, false], [64, true], [64, true]]);
    expect(flaky.rate).toBe(64);
    expect(flaky.failedAt).toBe(74);
    // Out of runs before two confirmations pass: no rate.
    expect((await searchRate((rate) => Promise.resolve({ pass: rate !== 74 && rate <= 100, result: rate }), { ...OPTIONS, maxRuns: 8 })).rate).toBeUndefined();
  });

  it('refuses bad bounds with ATP_SCHEMA_INVALID naming the field', async () => {
    await expect(searchRate(threshold(1), { ...OPTIONS, maxRuns: 2 })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID', details: { field: 'maxRuns' } });
    await expect(searchRate(threshold(1), { ...OPTIONS, margin: 1 })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID', details: { field: 'margin' } });
    await expect(searchRate(threshold(1), { ...OPTIONS, confirmations: 0 })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID', details: { field: 'confirmations' } });
    await expect(searchRate(threshold(1), { ...OPTIONS, startRate: 1000 })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID', details: { field: 'startRate' } });
  });
});

describe('the calibration store and rate: calibrated', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const entry: Calibration = { vm: 'lab', injector: 'qmp', inputDevice: 'virtio keyboard', rateKeysPerS: 93, latencyP50Ms: 3.1, latencyP99Ms: 9.5, suite: 'generated: 200 letters', measuredAt: new Date(0).toISOString() };
  const suite = parseScenario({ version: 1, name: 's', target: { vm: 'lab' }, observer: { kind: 'agent' }, defaults: { rate: 'calibrated' }, steps: [{ type: 'abc' }] });

  it('stores per VM, injector and input device, replaces an entry, and resolves rate: calibrated to that open-loop rate', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-calibrate-'));
    const store = new CalibrationStore(dir);
    await store.put(entry);
    await store.put({ ...entry, injector: 'vnc', inputDevice: undefined, rateKeysPerS: 40 } as Calibration);
    await store.put({ ...entry, rateKeysPerS: 90 });
    expect((await store.list()).map((c) => [c.injector, c.rateKeysPerS])).toEqual([['vnc', 40], ['qmp', 90]]);
    const pacing = resolvePacing(suite.defaults, {});
    expect(pacing.calibrated).toBe(true);
    const resolved = await calibratedPacing(pacing, store, { vm: 'lab', injector: 'qmp', inputDevice: 'virtio keyboard' });
    expect(resolved).toMatchObject({ mode: 'open', rate: 90, holdMs: 500 / 90, gapMs: 500 / 90 });
    expect(resolved.calibrated).toBeUndefined();
    // --rate on the command line wins over the suite's calibrated rate.
    expect(resolvePacing(suite.defaults, { rate: 20 })).toMatchObject({ mode: 'open', rate: 20 });
  });

  it('fails with ATP_SCENARIO_UNCALIBRATED naming the VM, the injector, the file and the command when nothing is stored', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-calibrate-'));
    const store = new CalibrationStore(dir);
    await store.put(entry);
    const error = await calibratedPacing(resolvePacing(suite.defaults), store, { vm: 'web1', injector: 'spice' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ATP_SCENARIO_UNCALIBRATED', details: { vm: 'web1', injector: 'spice', file: store.file } });
    expect((error as Error).message).toContain('"web1"');
    expect((error as Error).message).toContain('atp-host calibrate --vm web1 --injector spice');
    await expect(calibratedPacing(resolvePacing(suite.defaults), undefined, { vm: 'web1', injector: 'qmp' })).rejects.toMatchObject({ code: 'ATP_SCENARIO_UNCALIBRATED' });
  });

  it('refuses a calibration file of the wrong shape with ATP_CALIBRATE_STORE naming the file and the field', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-calibrate-'));
    const store = new CalibrationStore(dir);
    await writeFile(store.file, JSON.stringify({ version: 1, calibrations: [{ ...entry, rateKeysPerS: -3 }] }));
    await expect(store.list()).rejects.toMatchObject({ code: 'ATP_CALIBRATE_STORE', details: { file: store.file, field: 'calibrations.0.rateKeysPerS' } });
    await writeFile(store.file, '{ not json');
    await expect(store.find({ vm: 'lab', injector: 'qmp' })).rejects.toMatchObject({ code: 'ATP_CALIBRATE_STORE' });
    expect(await readFile(store.file, 'utf8')).toBe('{ not json');
  });

  it('refuses rate together with pacing: closed, and a rate that is not a positive number or "calibrated"', () => {
    expect(() => resolvePacing({ rate: 40, pacing: 'closed' })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: { field: 'defaults.rate' } }));
    expect(() => parseScenario({ ...suite, defaults: { rate: 'fast' } })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    expect(() => parseScenario({ ...suite, defaults: { rate: 0 } })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
  });
});
