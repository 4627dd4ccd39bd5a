/**
 * `atp-host platform add|list|check|remove` against the platform simulator
 * over real HTTP (a bare template on the real libvirtd as its model), and the
 * `verify --platform` flag rules: --pool without --platform, no token, a pool
 * that does not exist (exit 2 naming the pools there), a pool whose VMs are
 * all shut off (exit 2 naming them). The password only ever travels through
 * the environment variable platforms.yaml names.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { createPoolAndWait, OCloudClient } from '../src/vdi/index.js';
import { startSimulator, type Simulator } from '../src/vdi-sim/index.js';
import { defineSimTemplate, type SimTemplate } from './support/vdi-sim-lab.js';

const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const ENV = 'ATP_TEST_PLATFORM_PW';
const SMOKE = path.resolve(import.meta.dirname, '../../scenarios/smoke.yaml');

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('platform commands and verify --platform', () => {
  let template: SimTemplate | undefined;
  let sim: Simulator | undefined;
  let dir = '';
  let configDir = '';
  const pool = `pcli-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-platform-cli-'));
    configDir = path.join(dir, 'config');
    template = await defineSimTemplate({ boot: false });
    sim = await startSimulator({ models: [template.name], stateDir: path.join(dir, 'sim'), seed: { admin: { username: 'admin', password: PASSWORD }, ous: [{ ou: 'atp', distinguishedName: 'OU=atp,DC=atp' }], users: [] } });
    process.env[ENV] = PASSWORD;
    const client = new OCloudClient({ baseUrl: sim.url, username: 'admin', password: PASSWORD });
    await createPoolAndWait(client, { name: pool, modelId: (await client.models())[0]?.id ?? '', amount: 2, domainPrefix: pool, type: 0 }, { deadlineMs: 60_000 });
  }, 900_000);

  afterAll(async () => {
    Reflect.deleteProperty(process.env, ENV);
    await sim?.close();
    await template?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('adds a platform without its password, lists it, checks it over HTTP, removes it', async () => {
    const add = await cli(['platform', 'add', 'sim', '--url', sim?.url ?? '', '--username', 'admin', '--password-env', ENV, '--config-dir', configDir]);
    expect(add).toMatchObject({ code: 0, out: expect.stringContaining(`password from env ${ENV}`) });
    const file = await readFile(path.join(configDir, 'platforms.yaml'), 'utf8');
    expect(file).toContain(`passwordEnv: ${ENV}`);
    expect(file).not.toContain(PASSWORD);

    const list = await cli(['platform', 'list', '--config-dir', configDir]);
    expect(list.out.split('\n')[0]).toMatch(/^NAME\s+URL\s+USER\s+PASSWORD/);
    expect(list.out).toMatch(new RegExp(`sim\\s+${sim?.url.replace(/[.]/g, '\\.') ?? ''}\\s+admin\\s+env ${ENV}`));

    const check = await cli(['platform', 'check', 'sim', '--config-dir', configDir, '--json']);
    expect(check.code).toBe(0);
    const report = JSON.parse(check.out) as { ok: boolean; vms: number; pools: number; hosts: { ip: string; hypervisor: string }[] };
    expect(report).toMatchObject({ ok: true, vms: 2, pools: 1 });
    expect(report.hosts).toEqual([expect.objectContaining({ ip: '127.0.0.1', hypervisor: 'this machine' })]);
    expect(check.out).not.toContain(PASSWORD);
    const text = await cli(['platform', 'check', 'sim', '--config-dir', configDir]);
    expect(text.out).toMatch(/sim: .*logged in in \d+ ms; 2 VMs, 1 desk pools, 1 hosts/);

    const wrong = { ...process.env };
    process.env[ENV] = 'not-the-password';
    try {
      const refused = await cli(['platform', 'check', 'sim', '--config-dir', configDir]);
      expect(refused.code).not.toBe(0);
      expect(refused.err).toContain('ATP_VDI_AUTH');
      expect(refused.err).not.toContain('not-the-password');
    } finally {
      process.env[ENV] = wrong[ENV];
    }
  });

  it('verify --platform: flag rules, an unknown pool and a pool with nothing running are usage errors naming what exists', async () => {
    const noPlatform = await cli(['verify', SMOKE, '--pool', pool, '--token', 't']);
    expect(noPlatform).toMatchObject({ code: 2, err: expect.stringContaining('--pool names a desk pool of a platform: it needs --platform NAME') });
    const noToken = await cli(['verify', SMOKE, '--platform', 'sim', '--config-dir', configDir]);
    expect(noToken).toMatchObject({ code: 2, err: expect.stringContaining('--platform needs --token T') });
    const unknownPlatform = await cli(['verify', SMOKE, '--platform', 'nope', '--token', 't', '--config-dir', configDir]);
    expect(unknownPlatform).toMatchObject({ code: 2, err: expect.stringContaining("no platform named 'nope' (known: sim") });
    const unknownPool = await cli(['verify', SMOKE, '--platform', 'sim', '--pool', 'nope', '--token', 't', '--config-dir', configDir]);
    expect(unknownPool).toMatchObject({ code: 2, err: expect.stringContaining(`no desk pool named or with id 'nope' (pools: ${pool})`) });
    const shutOff = await cli(['verify', SMOKE, '--platform', 'sim', '--pool', pool, '--token', 't', '--config-dir', configDir]);
    expect(shutOff.code).toBe(2);
    expect(shutOff.err).toMatch(new RegExp(`skipped ${pool}\\S*: platform status 0 \\(shut off\\), not running`));
    expect(shutOff.err).toContain('no selected VM is running');
  });
});
