/**
 * /api/v1/platforms against a real server and the OCloudView simulator over
 * real HTTP (its model a defined, never started libvirt domain; the pool's
 * clones stay plans, so nothing boots): the platforms of platforms.yaml with
 * where each password comes from, a platform's desk pools, its VMs (all, or
 * one pool's, by name or id) with their status spelled out. The password
 * (from an environment variable of the server) is in no answer and no log
 * line; an unknown platform or pool is 404; a password source that is empty
 * is the credentials error, not a prompt.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { startSimulator, type Simulator, type SimSeed } from '../src/vdi-sim/index.js';
import { defineSimTemplate, type SimTemplate } from './support/vdi-sim-lab.js';
import { errorOf, explain, startApiRig, type ApiAnswer, type ApiRig } from './api-areas-support.js';

const LONG = 300_000;
const PASSWORD_ENV = 'ATP_API_PLATFORM_TEST_PASSWORD';
const EMPTY_ENV = 'ATP_API_PLATFORM_TEST_EMPTY';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const SEED: SimSeed = { admin: { username: 'admin', password: PASSWORD }, ous: [{ ou: 'atp', distinguishedName: 'OU=atp,DC=atp,DC=local' }], users: [] };
const tag = randomBytes(3).toString('hex');
const pool = `api-${tag}`;
const prefix = `vapi${tag}`;

let template: SimTemplate | undefined;
let sim: Simulator | undefined;
let rig: ApiRig;
let dir = '';
let config = '';
const answers: ApiAnswer[] = [];

async function get(route: string): Promise<ApiAnswer> {
  const a = await rig.call('GET', route);
  answers.push(a);
  return a;
}

async function cli(...argv: string[]): Promise<void> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--config-dir', config], { out: (t) => void (out += t), err: (t) => void (err += t) });
  if (code !== 0) throw new Error(`atp-host ${argv.join(' ')}: exit ${code}\n${out}\n${err}`);
}

beforeAll(async () => {
  template = await defineSimTemplate({ boot: false });
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-api-platforms-'));
  config = path.join(dir, 'config');
  sim = await startSimulator({ models: [template.name], stateDir: path.join(dir, 'state'), seed: SEED });
  process.env[PASSWORD_ENV] = PASSWORD;
  process.env[EMPTY_ENV] = '';
  await cli('platform', 'add', 'sim', '--url', sim.url, '--username', 'admin', '--password-env', PASSWORD_ENV, '--map', '127.0.0.1=local');
  await cli('platform', 'add', 'nopass', '--url', sim.url, '--username', 'admin', '--password-env', EMPTY_ENV);
  await cli('vdi', 'pool', 'create', pool, '--platform', 'sim', '--model', template.name, '--amount', '2', '--prefix', prefix, '--timeout', '120');
  rig = await startApiRig({ configDir: config });
}, 600_000 + LONG);

afterAll(async () => {
  await rig?.close();
  await sim?.close();
  await template?.remove();
  delete process.env.ATP_API_PLATFORM_TEST_PASSWORD;
  delete process.env.ATP_API_PLATFORM_TEST_EMPTY;
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, LONG);

describe('/api/v1/platforms', () => {
  it('lists platforms.yaml: url, user, where the password comes from, the host map', async () => {
    const a = await get('/api/v1/platforms');
    expect(a.status, explain(a)).toBe(200);
    expect(a.json).toEqual({
      file: path.join(config, 'platforms.yaml'),
      platforms: [
        { name: 'sim', url: sim?.url, username: 'admin', passwordSource: `env ${PASSWORD_ENV}`, hosts: { '127.0.0.1': 'local' } },
        { name: 'nopass', url: sim?.url, username: 'admin', passwordSource: `env ${EMPTY_ENV}`, hosts: {} },
      ],
    });
  });

  it("a platform's desk pools, as the platform reports them", async () => {
    const a = await get('/api/v1/platforms/sim/pools');
    expect(a.status, explain(a)).toBe(200);
    const body = a.json as { platform: string; pools: { id: string; name: string; amount?: number }[] };
    expect(body.platform).toBe('sim');
    expect(body.pools).toEqual([expect.objectContaining({ name: pool, amount: 2, id: expect.any(String) })]);
  }, LONG);

  it("a platform's VMs, all or one pool's (by name or id), with their status spelled out", async () => {
    const all = await get('/api/v1/platforms/sim/vms');
    expect(all.status, explain(all)).toBe(200);
    const vms = (all.json as { vms: { id: string; name: string; status: number; statusText: string; poolName?: string }[] }).vms;
    expect(vms.map((v) => [v.name, v.status, v.statusText, v.poolName]).sort()).toEqual([
      [`${prefix}-1`, 0, 'shut-off', pool],
      [`${prefix}-2`, 0, 'shut-off', pool],
    ]);
    const poolId = ((await get('/api/v1/platforms/sim/pools')).json as { pools: { id: string }[] }).pools[0]?.id ?? '';
    for (const ref of [pool, poolId]) {
      const one = await get(`/api/v1/platforms/sim/vms?pool=${encodeURIComponent(ref)}`);
      expect(one.status, explain(one)).toBe(200);
      expect(one.json).toMatchObject({ platform: 'sim', pool: ref });
      expect((one.json as { vms: { name: string }[] }).vms.map((v) => v.name).sort()).toEqual([`${prefix}-1`, `${prefix}-2`]);
    }
  }, LONG);

  it('an unknown platform or pool is 404; an unknown query field 400; an empty password source is its credentials error', async () => {
    const platform = await get('/api/v1/platforms/nope/pools');
    expect(platform.status, explain(platform)).toBe(404);
    expect(errorOf(platform).code).toBe('ATP_CONFIG_PLATFORM_UNKNOWN');
    const unknownPool = await get('/api/v1/platforms/sim/vms?pool=no-such-pool');
    expect(unknownPool.status, explain(unknownPool)).toBe(404);
    expect(errorOf(unknownPool).code).toBe('ATP_VDI_POOL_UNKNOWN');
    const field = await get('/api/v1/platforms/sim/vms?pol=x');
    expect(field.status, explain(field)).toBe(400);
    expect(errorOf(field).message).toContain('pol');
    const empty = await get('/api/v1/platforms/nopass/pools');
    expect(empty.status, explain(empty)).toBe(502);
    expect(errorOf(empty).code).toBe('ATP_VDI_CREDENTIALS');
    expect(errorOf(empty).message).toContain(EMPTY_ENV);
  }, LONG);

  it('the platform password and the API token are in no answer and no log line', () => {
    expect(answers.length).toBeGreaterThanOrEqual(8);
    for (const a of answers) for (const secret of [PASSWORD, rig.token]) expect(a.text).not.toContain(secret);
    for (const line of rig.lines) for (const secret of [PASSWORD, rig.token]) expect(line).not.toContain(secret);
  });
});
