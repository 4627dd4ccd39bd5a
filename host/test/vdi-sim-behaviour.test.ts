/**
 * The OCloudView simulator against a real libvirtd with the lab guest as its
 * model: a desk pool's clones through their whole life (planned shut off,
 * started as transient domains, displays as in `virsh dumpxml`, VNC password
 * really set, suspend/resume, reboot, close, delete leaving nothing behind),
 * the error answers, every SimFaults switch seen over HTTP, token lifetime,
 * and close() destroying what it started. Two clones boot at most at once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type Simulator } from '../src/vdi-sim/index.js';
import type { DesktopPoolVO, DomainVO, EventVO } from '../src/vdi-sim/records.js';
import { cloneConsole, defineSimTemplate, SimApi, vncLogin, type SimTemplate } from './support/vdi-sim-lab.js';

const LONG = 300_000;
const TASK_MS = 120_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('OCloudView simulator on a real libvirtd', () => {
  let template: SimTemplate | undefined;
  let sim: Simulator | undefined;
  let api: SimApi;
  let stateDir = '';
  let modelId = '';
  const tpl = (): SimTemplate => {
    if (template === undefined) throw new Error('no template');
    return template;
  };

  beforeAll(async () => {
    template = await defineSimTemplate({ boot: true });
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'atp-vsim-state-'));
    sim = await startSimulator({ models: [template.name], stateDir });
    api = new SimApi(sim.url);
    await api.login();
    const models = await api.data<{ list: DomainVO[] }>('GET', '/ocloud/v1/model');
    modelId = models.list[0]?.id ?? '';
  }, LONG);

  afterAll(async () => {
    await sim?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    await template?.remove();
  }, LONG);

  const prefix = (): string => `vsim-${process.pid}-${randomBytes(3).toString('hex')}`;

  async function waitEvent(id: string, on: SimApi = api): Promise<EventVO> {
    return vi.waitFor(
      async () => {
        const e = await on.data<EventVO>('GET', `/ocloud/v1/event/${id}`);
        if (e.isSuccess === undefined) throw new Error(`event ${id} (${e.description}) did not finish within ${TASK_MS / 1000} s`);
        return e;
      },
      { timeout: TASK_MS, interval: 250 },
    );
  }

  async function batch(verb: string, idList: string[], extra: Record<string, unknown> = {}): Promise<EventVO[]> {
    const r = await api.data<{ eventIdList: string[]; errorList: unknown[] }>('POST', `/ocloud/v1/domain/${verb}`, { idList, ...extra });
    expect(r.errorList).toEqual([]);
    expect(r.eventIdList).toHaveLength(idList.length);
    return Promise.all(r.eventIdList.map((id) => waitEvent(id)));
  }

  async function createPool(amount: number, on: SimApi = api): Promise<{ pool: DesktopPoolVO; domains: DomainVO[] }> {
    const name = prefix();
    const { eventId } = await on.data<{ eventId: string }>('POST', '/ocloud/v1/desk-pool', { name, amount, modelId, type: 0, domainPrefix: name, remark: 'test' });
    expect(await waitEvent(eventId, on)).toMatchObject({ isSuccess: 1 });
    const pools = await on.data<{ list: DesktopPoolVO[] }>('GET', `/ocloud/v1/desk-pool?keyword=${name}`);
    const pool = pools.list.find((p) => p.name === name);
    if (pool === undefined) throw new Error(`pool ${name} not listed`);
    return { pool, domains: await on.data<DomainVO[]>('GET', `/ocloud/v1/desk-pool/${pool.id}/domain/list`) };
  }

  const statuses = async (ids: string[]): Promise<number[]> => Promise.all(ids.map(async (id) => (await api.data<DomainVO>('GET', `/ocloud/v1/domain/${id}`)).status));
  const inLibvirt = async (name: string): Promise<boolean> => (await tpl().client.listDomains()).some((d) => d.name === name);

  it(
    'runs a pool of two clones from shut off to deleted, with statuses from libvirt',
    async () => {
      const { pool, domains } = await createPool(2);
      const ids = domains.map((d) => d.id);
      const names = domains.map((d) => d.name);
      expect(pool).toMatchObject({ amount: 2, modelId, type: 0, enabled: 1 });
      expect(new Set(ids).size).toBe(2);
      expect(new Set(names).size).toBe(2);
      for (const d of domains) {
        expect(d).toMatchObject({ status: 0, desktopPoolId: pool.id, motherId: modelId, isCloneDomain: 1 });
        expect(d.id).toMatch(UUID);
        expect(await inLibvirt(d.name)).toBe(false);
      }

      expect((await batch('start', ids)).map((e) => [e.isSuccess, e.errorReason])).toEqual([[1, undefined], [1, undefined]]);
      expect(await statuses(ids)).toEqual([1, 1]);
      for (const d of domains) {
        // The platform id is the clone's libvirt UUID; the clone is transient.
        const info = await tpl().client.lookup(d.id);
        expect(info).toMatchObject({ name: d.name, uuid: d.id, state: 'running', persistent: false });
      }

      const [first, second] = domains as [DomainVO, DomainVO];
      const live = await tpl().client.domainXml(first.name);
      const spice = live.graphics.find((g) => g.type === 'spice');
      const vnc = live.graphics.find((g) => g.type === 'vnc');
      const key = await api.call<{ ip: string; port: string; key: string; domainId: string; name: string }>('GET', `/ocloud/v1/domain/${first.id}/spice-key`);
      expect(key.body).toMatchObject({ status: 0, msg: 'success', data: { domainId: first.id, name: first.name, ip: spice?.listen, port: String(spice?.port) } });
      expect(key.body.data?.key).toMatch(/^\S{8,}$/);
      expect((await api.data<{ key: string }>('GET', `/ocloud/v1/domain/${first.id}/spice-key`)).key).toBe(key.body.data?.key);
      const ports = await api.data<{ type: string; value: number }[]>('GET', `/ocloud/v1/domain/${first.id}/port`);
      expect(ports).toEqual(expect.arrayContaining([{ type: 'spice', value: spice?.port }, { type: 'vnc', value: vnc?.port }]));
      expect(ports).toHaveLength(2);

      const old = await api.call<{ password: string }>('GET', `/ocloud/v1/domain/${first.id}/vnc-password`);
      const now = await api.call<{ password: string }>('GET', `/ocloud/v1/domain/${first.id}/vnc-password`);
      expect([old.body.msg, now.body.msg]).toEqual(['success', 'success']);
      expect(now.body.data?.password).not.toBe(old.body.data?.password);
      expect(await vncLogin(vnc?.listen ?? '', vnc?.port ?? 0, now.body.data?.password ?? '')).toBe(true);
      expect(await vncLogin(vnc?.listen ?? '', vnc?.port ?? 0, old.body.data?.password ?? '')).toBe(false);

      expect((await batch('suspend', [first.id]))[0]).toMatchObject({ isSuccess: 1 });
      expect(await statuses([first.id])).toEqual([2]);
      expect(await tpl().client.state(first.name)).toBe('paused');
      expect((await batch('resume', [first.id]))[0]).toMatchObject({ isSuccess: 1 });
      expect(await statuses([first.id])).toEqual([1]);
      expect((await batch('reboot', [second.id], { isForce: 1 }))[0]).toMatchObject({ isSuccess: 1 });
      expect(await tpl().client.state(second.name)).toBe('running');

      expect((await batch('close', ids, { isForce: 1 })).map((e) => e.isSuccess)).toEqual([1, 1]);
      expect(await statuses(ids)).toEqual([0, 0]);
      for (const n of names) expect(await inLibvirt(n), `${n} still in libvirt; console: ${await cloneConsole(path.join(stateDir, n))}`).toBe(false);
      expect((await readdir(stateDir)).filter((f) => names.includes(f)).sort()).toEqual([...names].sort());

      expect((await api.call('POST', '/ocloud/v1/domain/delete', { domainIdList: ids, isRecycle: 0 })).body.status).toBe(0);
      expect(await api.data<DomainVO[]>('GET', `/ocloud/v1/desk-pool/${pool.id}/domain/list`)).toEqual([]);
      expect((await api.call('GET', `/ocloud/v1/domain/${first.id}`)).body.status).toBe(1002);
      expect((await readdir(stateDir)).filter((f) => names.includes(f))).toEqual([]);
      for (const n of names) expect(await inLibvirt(n)).toBe(false);
      expect((await api.call('DELETE', `/ocloud/v1/desk-pool/${pool.id}`)).body.status).toBe(0);
    },
    LONG,
  );

  it('answers errors in the envelope: bad token, bad pool body naming the field, unknown domain in a batch', async () => {
    expect((await api.call('GET', '/ocloud/v1/host', undefined, 'not-a-token')).body.status).toBe(1006);
    expect((await api.call('GET', '/ocloud/v1/host', undefined, null)).body.status).toBe(1006);
    expect((await new SimApi(api.url).call('POST', '/ocloud/v1/login', { username: 'admin', password: 'admin123' })).body.status).not.toBe(0);

    const bad = async (body: Record<string, unknown>, field: string): Promise<void> => {
      const r = await api.call('POST', '/ocloud/v1/desk-pool', { name: prefix(), amount: 1, modelId, type: 0, ...body });
      expect(r.http).toBe(200);
      expect(r.body.status, r.text).not.toBe(0);
      expect(r.body.msg).toContain(field);
    };
    await bad({ amount: 0 }, 'amount');
    await bad({ amount: 101 }, 'amount');
    await bad({ type: 3 }, 'type');
    await bad({ name: '' }, 'name');
    await bad({ modelId: '00000000-0000-0000-0000-000000000000' }, 'modelId');
    await bad({ modelId: undefined }, 'modelId');
    await bad({ domainPrefix: 'has space' }, 'domainPrefix');

    const ghost = '11111111-2222-3333-4444-555555555555';
    const r = await api.call<{ eventIdList: string[]; errorList: { domainId: string; errorMsg: string }[] }>('POST', '/ocloud/v1/domain/start', { idList: [ghost] });
    expect(r.body.status).toBe(0);
    expect(r.body.data?.eventIdList).toEqual([]);
    expect(r.body.data?.errorList).toEqual([{ domainId: ghost, errorMsg: expect.stringContaining(ghost) }]);
  });

  it(
    'shows every SimFaults switch over HTTP',
    async () => {
      const s = sim as Simulator;
      s.faults.failHttp({ method: 'GET', path: /^\/ocloud\/v1\/host$/ }, 2);
      for (let i = 0; i < 2; i++) {
        const r = await api.call('GET', '/ocloud/v1/host');
        expect(r.http).toBe(500);
        expect(() => JSON.parse(r.text) as unknown).toThrow();
      }
      expect((await api.call('GET', '/ocloud/v1/host')).body.status).toBe(0);

      const release = s.faults.hang({ path: /\/group\/tree$/ });
      let answered = false;
      const pending = api.call('GET', '/ocloud/v1/group/tree').then((r) => ((answered = true), r));
      await new Promise((r) => setTimeout(r, 500));
      expect((await api.call('GET', '/ocloud/v1/host')).body.status).toBe(0);
      expect(answered).toBe(false);
      release();
      expect((await pending).body.status).toBe(0);

      const { pool, domains } = await createPool(2);
      const [a, b] = domains as [DomainVO, DomainVO];
      s.faults.batchError(a.id, 'injected failure');
      const r = await api.data<{ eventIdList: string[]; errorList: unknown[] }>('POST', '/ocloud/v1/domain/start', { idList: [a.id] });
      expect(r).toEqual({ eventIdList: [], errorList: [{ domainId: a.id, domainName: a.name, errorMsg: 'injected failure' }] });
      expect(await statuses([a.id])).toEqual([0]);
      // One-shot: the next batch on it is a normal task (close on a shut-off clone fails in its event).
      const [closeEvent] = await batch('close', [a.id], { isForce: 1 });
      expect(closeEvent).toMatchObject({ isSuccess: 0, errorReason: expect.stringContaining('not running') });

      s.faults.neverRunning(b.id);
      expect((await batch('start', [b.id]))[0]).toMatchObject({ isSuccess: 1 });
      expect(await statuses([b.id])).toEqual([0]);
      expect(await inLibvirt(b.name)).toBe(false);

      s.faults.expireTokens();
      expect((await api.call('GET', '/ocloud/v1/host')).body.status).toBe(1006);
      await api.login();
      expect((await api.call('GET', '/ocloud/v1/host')).body.status).toBe(0);
      expect((await api.call('DELETE', `/ocloud/v1/desk-pool/${pool.id}`)).body.status).toBe(0);
    },
    LONG,
  );

  it(
    'expires tokens after the configured lifetime',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vsim-state-'));
      const short = await startSimulator({ models: [tpl().name], stateDir: dir, tokenLifetimeMs: 1500 });
      try {
        const client = new SimApi(short.url);
        await client.login();
        expect((await client.call('GET', '/ocloud/v1/model')).body.status).toBe(0);
        await new Promise((r) => setTimeout(r, 2000));
        expect((await client.call('GET', '/ocloud/v1/model')).body.status).toBe(1006);
      } finally {
        await short.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
    LONG,
  );

  it(
    'close() destroys the clones it started and removes their dirs',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vsim-state-'));
      const other = await startSimulator({ models: [tpl().name], stateDir: dir });
      try {
        const client = new SimApi(other.url);
        await client.login();
        const { domains } = await createPool(1, client);
        const d = domains[0] as DomainVO;
        const started = await client.data<{ eventIdList: string[] }>('POST', '/ocloud/v1/domain/start', { idList: [d.id] });
        expect(await waitEvent(started.eventIdList[0] ?? '', client)).toMatchObject({ isSuccess: 1 });
        expect(await tpl().client.state(d.name)).toBe('running');
        expect(await readdir(dir)).toContain(d.name);
        await other.close();
        expect(await inLibvirt(d.name)).toBe(false);
        expect(await readdir(dir)).toEqual([]);
      } finally {
        await other.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
    LONG,
  );
});
