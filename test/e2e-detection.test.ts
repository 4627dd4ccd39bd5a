/**
 * Detection end to end: a fault wrapper around the real QMP injector drops,
 * doubles, swaps or never releases a chosen key while reporting the keystrokes
 * as asked. The guest really receives the faulty input (the agent reads it from
 * evdev), so the report must name exactly the faulted key and defect, and
 * nothing else. One lab VM for all cases; a fault-free run first shows the same
 * suite passes as is.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '@atp/protocol';
import { QmpInjector } from '../host/src/inject/index.js';
import { HubObservation, loadSuite, runSuite, type SuiteRun } from '../host/src/scenario/index.js';
import { FaultyInjector, type Faults } from './support/e2e-faulty-injector.js';
import { startE2eLab, type E2eLab } from './support/e2e-lab.js';

const SUITE = `version: 1
name: detection
target: { vm: lab, layout: us }
observer: agent
defaults: { holdMs: 0, gapMs: 40, timeoutMs: 5000 }
steps:
  - type: qwertyuiop
  - expect: { keys: exact }
`;

let lab: E2eLab | undefined;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-detect-'));
  await writeFile(path.join(dir, 'detection.yaml'), SUITE);
  lab = await startE2eLab();
}, 600_000);

afterAll(async () => {
  await lab?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 120_000);

async function run(faults: Faults): Promise<SuiteRun> {
  if (lab === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  const { target } = lab;
  const loaded = await loadSuite(path.join(dir, 'detection.yaml'));
  const injector = new FaultyInjector(new QmpInjector({ executor: target.qmp, screen: loaded.scenario.target.screen }), faults);
  try {
    return await runSuite(loaded, { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, clock: target.clock });
  } finally {
    // Release a stuck key and wait until the guest saw it, so it cannot leak into the next run's observation.
    const obs = HubObservation.start(target.hub, target.agentId);
    const released = await injector.release();
    const seen = await obs.waitFor(() => obs.events.filter((e) => e.kind === 'key' && e.action === 'up').length >= released.length, 30_000);
    await obs.close();
    await injector.close();
    expect(seen).toBe(true);
  }
}

/** "kind KEY" for each finding, from its observed or expected side. */
function named(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.kind} ${String(f.observed?.['key'] ?? f.expected?.['key'] ?? '?')}`);
}

describe('defect detection on the lab VM', () => {
  it('passes the suite when nothing is faulted', async () => {
    const r = await run({});
    expect(named(r.report.findings)).toEqual([]);
    expect(r.report.verdict).toBe('pass');
  }, 120_000);

  it('a dropped key is missing, and only that key', async () => {
    const r = await run({ drop: ['KEY_W'] });
    expect(named(r.report.findings)).toEqual(['missing KEY_W']);
    expect(r.report.counts.missing).toBe(1);
    expect(r.report.verdict).toBe('fail');
  }, 120_000);

  it('a doubled key is a duplicate (doubled character), and only that key', async () => {
    const r = await run({ double: ['KEY_R'] });
    expect(named(r.report.findings)).toEqual(['duplicate KEY_R']);
    expect(r.report.findings[0]?.message).toMatch(/doubled character/);
    expect(r.report.verdict).toBe('fail');
  }, 120_000);

  it('two swapped keys are reordered, and nothing else', async () => {
    const r = await run({ swap: ['KEY_Y'] });
    const found = named(r.report.findings);
    expect(found).toHaveLength(1);
    expect(['reordered KEY_Y', 'reordered KEY_U']).toContain(found[0]);
    expect(r.report.verdict).toBe('fail');
  }, 120_000);

  it('a key never released is stuck, and only that key', async () => {
    const r = await run({ stuck: ['KEY_O'] });
    expect(named(r.report.findings)).toEqual(['stuck KEY_O']);
    expect(r.report.verdict).toBe('fail');
  }, 120_000);

  it('several faults in one run are each named', async () => {
    const r = await run({ drop: ['KEY_Q'], double: ['KEY_T'], stuck: ['KEY_P'] });
    expect(named(r.report.findings).sort()).toEqual(['duplicate KEY_T', 'missing KEY_Q', 'stuck KEY_P']);
  }, 120_000);
});
