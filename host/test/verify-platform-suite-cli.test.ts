/**
 * `atp-host verify` with a version 2 suite: it runs alone, names its own
 * platform and pool (so the flags that pick VMs are refused), needs --token,
 * and an unknown platform is a usage error naming platforms.yaml; the steps
 * table formats every step with its outcome and first error line. No VM.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { formatSteps, platformSuiteFlagProblem } from '../src/cli/verify-platform-suite.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

const V2 = ['version: 2', 'name: v2', 'target: { platform: office, pool: desks }', 'observer: agent', 'steps:', '  - vdi: { start: { on: desks } }', '  - type: hi', ''].join('\n');
const V1 = ['version: 1', 'name: v1', 'target: { vm: lab }', 'observer: agent', 'steps:', '  - type: hi', ''].join('\n');

describe('verify with a version 2 suite', () => {
  let dir = '';
  let v2 = '';
  let v1 = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-verify-v2-'));
    v2 = path.join(dir, 'v2.yaml');
    v1 = path.join(dir, 'v1.yaml');
    await writeFile(v2, V2);
    await writeFile(v1, V1);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses VM-picking flags, a missing token and company', async () => {
    expect(platformSuiteFlagProblem({ token: 't' })).toBeUndefined();
    expect(platformSuiteFlagProblem({ token: 't', lab: true, vms: 'x*', onFailure: 'stop-all' })).toBe('a version 2 suite names its platform and pool (target:); drop --lab, --vms, --on-failure');
    const lab = await cli('verify', v2, '--lab');
    expect(lab).toMatchObject({ code: 2, err: expect.stringContaining('a version 2 suite names its platform and pool (target:); drop --lab') });
    const noToken = await cli('verify', v2);
    expect(noToken).toMatchObject({ code: 2, err: expect.stringContaining("needs --token T (the token the pool's guest agents present)") });
    const mixed = await cli('verify', v1, v2, '--token', 't');
    expect(mixed).toMatchObject({ code: 2, err: expect.stringContaining(`${v2} is a version 2 suite (platform steps): run it on its own`) });
  });

  it('a broken v2 suite is a usage error with its own file:line:column', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, V2.replace('vdi: { start: { on: desks } }', 'vdi: { explode: { on: desks } }'));
    const r = await cli('verify', bad, '--token', 't');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:6:10: steps[0].vdi: a platform action needs exactly one of createPool,`);
  });

  it('an unknown platform is a usage error naming platforms.yaml', async () => {
    const r = await cli('verify', v2, '--token', 't', '--config-dir', path.join(dir, 'cfg'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${path.join(dir, 'cfg', 'platforms.yaml')}: no platform named 'office' (known: none`);
  });

  it('v1 loaders refuse a v2 suite with how to run it', async () => {
    const r = await cli('verify', v2, '--lab', '--token', 't');
    expect(r.code).toBe(2);
    const { loadSuite } = await import('../src/scenario/index.js');
    await expect(loadSuite(v2)).rejects.toMatchObject({ code: 'ATP_SCENARIO_INVALID', message: `${v2}: a version 2 suite (platform steps) runs on its own: atp-host verify ${v2} --token T` });
  });

  it('formats the steps table', () => {
    const text = formatSteps([
      { step: 0, action: 'vdi', label: 'start desks', outcome: 'ok', durationMs: 12_345 },
      { step: 1, action: 'input', label: 'steps 1–1', outcome: 'failed', durationMs: 800, error: { code: 'ATP_RUN_TARGET', message: 'desks-1: agent never connected\nmore' } },
      { step: 2, action: 'vdi', label: 'delete pool desks', outcome: 'skipped', durationMs: 0 },
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]?.split(/\s{2,}/)).toEqual(['STEP', 'ACTION', 'WHAT', 'OUTCOME', 'TIME', 'ERROR']);
    expect(lines[1]?.trim().split(/\s{2,}/)).toEqual(['0', 'vdi', 'start desks', 'ok', '12 s']);
    expect(lines[2]?.trim().split(/\s{2,}/)).toEqual(['1', 'input', 'steps 1–1', 'failed', '800 ms', 'ATP_RUN_TARGET: desks-1: agent never connected']);
    expect(lines[3]?.trim().split(/\s{2,}/)).toEqual(['2', 'vdi', 'delete pool desks', 'skipped', '0 ms']);
  });
});
