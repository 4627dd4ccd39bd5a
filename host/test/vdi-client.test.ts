/**
 * The OCloudView client (host/src/vdi) against the platform simulator
 * (host/src/vdi-sim) over real HTTP, the simulator driving a real libvirtd:
 * a guest-less TCG template (SeaBIOS, VNC and SPICE displays) is the model,
 * desk-pool VMs are its clones. Covers login, every list endpoint parsed with
 * paging walked (25 users and 12 VMs at 10 per page), pool and VM operations,
 * power batches with waits, display access, placement against the libvirt
 * UUID, and the faults: token expiry mid-run (exactly one re-login), HTTP 500
 * on a GET (retried) and on a POST (not retried), a hung call (timeout), a
 * batch errorList entry, VMs that never run (deadline). The password and its
 * hash never appear in the client's log or errors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isAtpError } from '@atp/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OCloudClient, outcomesError, placeDomains, powerAndWait, createPoolAndWait, withLibvirtUuid, type DomainVO, type VdiCallLog, type VmOutcome } from '../src/vdi/index.js';
import { md5Hex, type VdiHttpOptions } from '../src/vdi/http.js';
import { startSimulator, type Simulator, type SimSeed } from '../src/vdi-sim/index.js';
import { buildDomainXml } from '../src/vm/libvirt/domain-xml.js';
import { VirshLibvirtClient } from '../src/vm/libvirt/client.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from './support/libvirtd.js';

const LONG = 240_000;
/** Other suites hold the libvirt lock for their whole run: wait for it as long as acquireLibvirtSuiteLock does. */
const LOCK_AND_START = 600_000 + LONG;
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const OU_DN = 'OU=lab,OU=atp,DC=atp,DC=local';
const SEED: SimSeed = {
  admin: { username: 'admin', password: PASSWORD },
  ous: [{ ou: 'atp', distinguishedName: 'OU=atp,DC=atp,DC=local', children: [{ ou: 'lab', distinguishedName: OU_DN }] }],
  users: Array.from({ length: 25 }, (_, i) => ({ sAMAccountName: `u${String(i).padStart(2, '0')}`, displayName: `User ${i}`, password: 'userpass', ou: 'lab' })),
};
/** Generous: VMs boot under TCG on a shared 2-core machine. */
const WAIT = { deadlineMs: 120_000, pollMs: 250 };

describe('OCloudClient against the platform simulator', () => {
  let release: (() => Promise<void>) | undefined;
  let dir = '';
  let sim: Simulator | undefined;
  let libvirt: VirshLibvirtClient | undefined;
  const template = testDomainName('atp-vdi-tpl');
  const prefix = `atpvdi${randomBytes(3).toString('hex')}`;
  const poolName = `pool-${prefix}`;
  const log: VdiCallLog[] = [];
  const errors: unknown[] = [];
  let client: OCloudClient;
  let vms: DomainVO[] = [];
  let poolId = '';

  const makeClient = (extra: Partial<VdiHttpOptions> = {}): OCloudClient =>
    new OCloudClient({
      baseUrl: sim?.url ?? 'http://127.0.0.1:1',
      username: 'admin',
      password: PASSWORD,
      pageSize: 10,
      timeoutMs: 20_000,
      retry: { attempts: 3, backoff: { initialMs: 50, maxMs: 200, factor: 2, jitter: 0.5 } },
      log: (entry) => log.push(entry),
      ...extra,
    });
  /** The log entries from `mark` on, for one path. */
  const since = (mark: number, p?: string): VdiCallLog[] => log.slice(mark).filter((e) => p === undefined || e.path === p);
  /** The rejection of `p`, kept for the password check at the end. */
  const rejection = async (p: Promise<unknown>): Promise<Error & { code: string; details: Record<string, unknown> }> => {
    const error = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isAtpError(error)) throw new Error(`expected an AtpError, got ${String(error)}`);
    errors.push(error);
    return error as Error & { code: string; details: Record<string, unknown> };
  };
  const vm = (i: number): DomainVO => {
    const found = vms[i];
    if (!found) throw new Error(`no VM ${i}`);
    return found;
  };
  const byId = (outcomes: VmOutcome[], id: string): VmOutcome | undefined => outcomes.find((o) => o.domainId === id);

  beforeAll(async () => {
    release = await acquireLibvirtSuiteLock();
    await ensureLibvirtd();
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vdi-'));
    libvirt = new VirshLibvirtClient({ uri: SYSTEM_URI });
    const xml = buildDomainXml({ name: template, agentSocketPath: path.join(dir, 'agent.sock'), graphics: { type: 'vnc', port: 'auto' } }).replace(
      '</graphics>',
      `</graphics>\n    <graphics type='spice' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>`,
    );
    await libvirt.define(xml);
    sim = await startSimulator({ models: [template], stateDir: path.join(dir, 'state'), seed: SEED });
    client = makeClient();
  }, LOCK_AND_START);

  afterAll(async () => {
    await client?.logout().catch(() => undefined);
    await sim?.close();
    await libvirt?.close();
    await removeDomain(template);
    if (dir) await rm(dir, { recursive: true, force: true });
    await release?.();
  }, LONG);

  it('logs in lazily with the MD5 of the password, once for calls at the same moment; a wrong password is ATP_VDI_AUTH', async () => {
    const fresh = makeClient();
    expect(fresh.http.logins).toBe(0);
    const mark = log.length;
    await Promise.all([fresh.hosts(), fresh.models(), fresh.groupTree()]);
    expect(fresh.http.logins).toBe(1);
    expect(since(mark).filter((e) => e.endpoint === 'POST /ocloud/v1/login')).toEqual([expect.objectContaining({ outcome: 'ok', status: 0, attempt: 1 })]);
    await fresh.logout();

    const wrong = makeClient({ password: 'not-the-password' });
    const error = await rejection(wrong.hosts());
    expect(error.code).toBe('ATP_VDI_AUTH');
    expect(error.message).toMatch(/^login as "admin" at http:\/\/127\.0\.0\.1:\d+ refused: status 1003/);
    expect(error.message).not.toContain('not-the-password');
  });

  it('parses the host, model, group and user lists, walking the 25 users in pages of 10', async () => {
    const hosts = await client.hosts();
    expect(hosts).toHaveLength(1);
    expect(hosts[0]).toMatchObject({ ip: '127.0.0.1', status: 1 });
    expect(await client.hostsPaged()).toEqual(hosts);
    expect((await client.hostPage({ pageNum: 1, pageSize: 10 })).total).toBe(1);
    const models = await client.models();
    expect(models.map((m) => m.name)).toContain(template);
    const tree = await client.groupTree();
    expect(tree[0]).toMatchObject({ ou: 'atp', list: [expect.objectContaining({ ou: 'lab', distinguishedName: OU_DN })] });
    const mark = log.length;
    const users = await client.users(OU_DN);
    expect(users).toHaveLength(25);
    expect(new Set(users.map((u) => u.sAMAccountName)).size).toBe(25);
    expect(since(mark, '/ocloud/v1/user')).toHaveLength(3);
  });

  it('creates a desk pool of 12 VMs and sees them in every view (domain list walked over 2 pages)', async () => {
    const [model] = await client.models({ keyword: template });
    if (!model) throw new Error('the template is not a model');
    const created = await createPoolAndWait(client, { name: poolName, modelId: model.id, amount: 12, type: 0, domainPrefix: prefix, remark: 'atp client test' }, { deadlineMs: 60_000, pollMs: 200 });
    expect(created.pool).toMatchObject({ name: poolName, type: 0, amount: 12 });
    expect(created.domains).toHaveLength(12);
    vms = [...created.domains].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    poolId = created.pool.id;
    for (const d of vms) expect(d).toMatchObject({ status: 0, desktopPoolId: poolId });

    const mark = log.length;
    const all = await client.domains();
    expect(all.map((d) => d.id)).toEqual(expect.arrayContaining(vms.map((d) => d.id)));
    expect(since(mark, '/ocloud/v1/domain').length).toBeGreaterThanOrEqual(2);
    expect((await client.pools()).map((p) => p.id)).toContain(poolId);
    expect((await client.poolPage({ pageNum: 1, pageSize: 10 })).total).toBeGreaterThanOrEqual(1);
    expect(await client.domain(vm(0).id)).toMatchObject({ id: vm(0).id, name: vm(0).name });
    const events = await client.events();
    expect(events.some((e) => e.isSuccess === 1 && (e.description ?? '').includes(poolName))).toBe(true);
    expect((await client.eventPage({ pageNum: 1, pageSize: 10 })).list.length).toBeGreaterThan(0);
    expect(placeDomains(vms, await client.hosts()).every((p) => p.hostIp === '127.0.0.1')).toBe(true);
  }, LONG);

  it('updates a VM, disables and enables the pool, binds and unbinds a user, grows the pool', async () => {
    await client.updateDomain(vm(0).id, { remark: 'patched by atp' });
    expect((await client.domain(vm(0).id)).remark).toBe('patched by atp');
    await client.disablePool(poolId);
    expect((await client.pools()).find((p) => p.id === poolId)?.enabled).toBe(0);
    await client.enablePool(poolId);
    expect((await client.pools()).find((p) => p.id === poolId)?.enabled).toBe(1);
    const [user] = await client.users(OU_DN, { keyword: 'u07' });
    if (!user) throw new Error('no user u07');
    expect(await client.bindUser([vm(0).id], user.id)).toEqual({ notBound: [] });
    expect((await client.domain(vm(0).id)).userId).toBe(user.id);
    await client.unbindUser([vm(0).id]);
    expect((await client.domain(vm(0).id)).userId).toBeUndefined();
    const { eventId } = await client.updatePool(poolId, { name: poolName, amount: 13 });
    const [done] = await client.waitForEvents([eventId], { deadlineMs: 60_000, pollMs: 200 });
    expect(done).toMatchObject({ ok: true });
    expect(await client.poolDomains(poolId)).toHaveLength(13);
  }, LONG);

  it('starts VMs and waits until they run; display access; the libvirt UUID is the platform id', async () => {
    const outcomes = await powerAndWait(client, 'start', [vm(0).id, vm(1).id], WAIT);
    expect(outcomes).toEqual([expect.objectContaining({ domainId: vm(0).id, ok: true, status: 1 }), expect.objectContaining({ domainId: vm(1).id, ok: true, status: 1 })]);
    const spice = await client.spiceKey(vm(0).id);
    expect(spice).toMatchObject({ ip: '127.0.0.1', domainId: vm(0).id });
    expect(spice.port).toBeGreaterThan(0);
    const ports = await client.ports(vm(0).id);
    expect(ports.map((p) => p.type).sort()).toEqual(['spice', 'vnc']);
    expect(ports.find((p) => p.type === 'spice')?.value).toBe(spice.port);
    const first = await client.vncPassword(vm(0).id);
    expect(first).toMatch(/^\S{8}$/);
    expect(await client.vncPassword(vm(0).id)).not.toBe(first);
    const info = await libvirt?.lookup(vm(0).name);
    const [placed] = placeDomains([await client.domain(vm(0).id)], await client.hosts());
    if (!placed || !info) throw new Error('not placed');
    expect(withLibvirtUuid(placed, info.uuid).identity).toBe('uuid-match');
  }, LONG);

  it('reports a batch errorList entry as that VM’s failure and carries on with the others', async () => {
    sim?.faults.batchError(vm(2).id, 'simulated: no memory left on the host');
    const raw = await client.startDomains([vm(2).id]);
    expect(raw.eventIds).toEqual([]);
    expect(raw.errors).toHaveLength(1);
    expect(raw.errors[0]).toMatchObject({ domainId: vm(2).id, domainName: vm(2).name, error: { code: 'ATP_VDI_TASK' } });
    expect(raw.errors[0]?.error.message).toBe(`start of VM ${vm(2).name} (${vm(2).id}) refused by the platform: simulated: no memory left on the host`);

    sim?.faults.batchError(vm(2).id, 'simulated: disk quota');
    const outcomes = await powerAndWait(client, 'start', [vm(2).id, vm(3).id], WAIT);
    expect(byId(outcomes, vm(2).id)).toMatchObject({ ok: false, error: { code: 'ATP_VDI_TASK', message: expect.stringContaining('simulated: disk quota') } });
    expect(byId(outcomes, vm(3).id)).toMatchObject({ ok: true, status: 1 });
    expect(outcomesError(outcomes, 'start')).toMatchObject({ code: 'ATP_VDI_TASK', message: expect.stringContaining(vm(2).name) });
  }, LONG);

  it('a wait whose VMs never run ends in ATP_VDI_DEADLINE naming them and their last status', async () => {
    sim?.faults.neverRunning(vm(4).id);
    sim?.faults.neverRunning(vm(5).id);
    const outcomes = await powerAndWait(client, 'start', [vm(4).id, vm(5).id], { deadlineMs: 3000, pollMs: 200 });
    for (const i of [4, 5]) {
      expect(byId(outcomes, vm(i).id)).toMatchObject({ ok: false, status: 0, error: { code: 'ATP_VDI_DEADLINE' } });
      expect(byId(outcomes, vm(i).id)?.error?.message).toContain(`VM ${vm(i).name} (${vm(i).id}) is still 0 (shut off)`);
    }
    const error = outcomesError(outcomes, 'start');
    expect(error?.code).toBe('ATP_VDI_DEADLINE');
    expect(error?.message).toContain(`${vm(4).name} (${vm(4).id}): still 0 (shut off)`);
    expect(error?.message).toContain(`${vm(5).name} (${vm(5).id}): still 0 (shut off)`);
    const direct = await client.waitForDomainStatus([vm(4).id], 1, { deadlineMs: 500, pollMs: 100 });
    expect(direct[0]?.error?.code).toBe('ATP_VDI_DEADLINE');
  }, LONG);

  it('suspends, resumes, reboots and force-closes running VMs', async () => {
    expect(await powerAndWait(client, 'suspend', [vm(0).id], WAIT)).toEqual([expect.objectContaining({ ok: true, status: 2 })]);
    expect(await powerAndWait(client, 'resume', [vm(0).id], WAIT)).toEqual([expect.objectContaining({ ok: true, status: 1 })]);
    expect(await powerAndWait(client, 'reboot', [vm(0).id], { ...WAIT, force: true })).toEqual([expect.objectContaining({ ok: true, status: 1 })]);
    const closed = await powerAndWait(client, 'close', [vm(0).id, vm(1).id, vm(3).id], { ...WAIT, force: true });
    expect(closed.map((o) => [o.ok, o.status])).toEqual([[true, 0], [true, 0], [true, 0]]);
  }, LONG);

  it('logs in again exactly once when the token expires mid-run, also for calls at the same moment', async () => {
    await client.hosts();
    const before = client.http.logins;
    sim?.faults.expireTokens();
    const mark = log.length;
    expect(await client.hosts()).toHaveLength(1);
    expect(client.http.logins).toBe(before + 1);
    expect(since(mark).map((e) => [e.endpoint, e.status])).toEqual([
      ['GET /ocloud/v1/host/all', 1006],
      ['POST /ocloud/v1/login', 0],
      ['GET /ocloud/v1/host/all', 0],
    ]);
    sim?.faults.expireTokens();
    await Promise.all([client.hosts(), client.models(), client.domain(vm(0).id)]);
    expect(client.http.logins).toBe(before + 2);
  });

  it('retries a GET that met HTTP 500 and succeeds', async () => {
    sim?.faults.failHttp({ method: 'GET', path: /^\/ocloud\/v1\/host\/all$/ }, 2);
    const mark = log.length;
    expect(await client.hosts()).toHaveLength(1);
    expect(since(mark, '/ocloud/v1/host/all').map((e) => [e.attempt, e.outcome, e.httpStatus])).toEqual([
      [1, 'http', 500],
      [2, 'http', 500],
      [3, 'ok', 200],
    ]);
  });

  it('sends a POST that met HTTP 500 once and fails typed; the VM was not started', async () => {
    sim?.faults.failHttp({ method: 'POST', path: /^\/ocloud\/v1\/domain\/start$/ });
    const mark = log.length;
    const error = await rejection(client.startDomains([vm(6).id]));
    expect(error).toMatchObject({ code: 'ATP_VDI_HTTP', details: { httpStatus: 500, endpoint: 'POST /ocloud/v1/domain/start' } });
    expect(error.message).toMatch(/^POST \/ocloud\/v1\/domain\/start: HTTP 500/);
    expect(since(mark, '/ocloud/v1/domain/start')).toHaveLength(1);
    expect((await client.domain(vm(6).id)).status).toBe(0);
  });

  it('gives up on a hung GET with ATP_VDI_TIMEOUT naming the endpoint, after its tries; a hung POST is tried once; the caller can abort', async () => {
    const quick = makeClient({ timeoutMs: 500, retry: { attempts: 2, backoff: { initialMs: 50, maxMs: 50 } } });
    await quick.login();
    const letGo = sim?.faults.hang({ method: 'GET', path: /^\/ocloud\/v1\/desk-pool$/ });
    const letPostGo = sim?.faults.hang({ method: 'POST', path: /^\/ocloud\/v1\/domain\/unbind-user$/ });
    try {
      const mark = log.length;
      const error = await rejection(quick.pools());
      expect(error).toMatchObject({ code: 'ATP_VDI_TIMEOUT', details: { endpoint: 'GET /ocloud/v1/desk-pool', timeoutMs: 500, tries: 2 } });
      expect(error.message).toBe('GET /ocloud/v1/desk-pool: no complete answer within 500 ms (after 2 tries)');
      expect(since(mark, '/ocloud/v1/desk-pool').map((e) => e.outcome)).toEqual(['timeout', 'timeout']);
      const post = await rejection(quick.unbindUser([vm(0).id]));
      expect(post).toMatchObject({ code: 'ATP_VDI_TIMEOUT', message: 'POST /ocloud/v1/domain/unbind-user: no complete answer within 500 ms' });
      const stop = new AbortController();
      const slow = makeClient({ timeoutMs: 60_000 });
      await slow.login();
      const stopped = rejection(slow.pools({}, { signal: stop.signal }));
      setTimeout(() => stop.abort(), 100);
      expect(await stopped).toMatchObject({ code: 'ATP_VDI_ABORTED', message: 'GET /ocloud/v1/desk-pool stopped by its caller' });
      await slow.logout();
    } finally {
      letGo?.();
      letPostGo?.();
    }
    expect((await quick.pools()).length).toBeGreaterThan(0);
    await quick.logout();
  });

  it('a platform that does not answer at all is ATP_VDI_HTTP naming the reason; the login is not retried', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const mark = log.length;
    const error = await rejection(makeClient({ baseUrl: `http://127.0.0.1:${closed}` }).hosts());
    expect(error).toMatchObject({ code: 'ATP_VDI_HTTP', details: { network: true, endpoint: 'POST /ocloud/v1/login' } });
    expect(error.message).toContain(`POST /ocloud/v1/login: request to http://127.0.0.1:${closed} failed`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(since(mark).map((e) => e.outcome)).toEqual(['network']);
  });

  it('names method, path, status and msg when the platform answers status != 0', async () => {
    const error = await rejection(client.domain('00000000-0000-4000-8000-000000000000'));
    expect(error).toMatchObject({ code: 'ATP_VDI_STATUS', details: { status: 1002, endpoint: 'GET /ocloud/v1/domain/{id}' } });
    expect(error.message).toMatch(/^GET \/ocloud\/v1\/domain\/00000000-0000-4000-8000-000000000000: platform status 1002: .*no domain/);
  });

  it('deletes a VM and then the pool', async () => {
    await client.deleteDomains([vm(11).id]);
    expect((await client.poolDomains(poolId)).map((d) => d.id)).not.toContain(vm(11).id);
    await client.deletePool(poolId);
    expect((await client.pools()).map((p) => p.id)).not.toContain(poolId);
  }, LONG);

  it('logs out; the next call logs in again', async () => {
    const before = client.http.logins;
    await client.logout();
    await client.hosts();
    expect(client.http.logins).toBe(before + 1);
  });

  it('never put the password or its MD5 into a log entry or an error', () => {
    const text = JSON.stringify({ log, errors: errors.map((e) => ({ message: (e as Error).message, details: (e as { details?: unknown }).details })) });
    expect(log.length).toBeGreaterThan(20);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(md5Hex(PASSWORD));
  });
});
