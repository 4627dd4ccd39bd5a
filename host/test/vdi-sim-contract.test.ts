/**
 * Conformance of the simulator to api-subset.json: one walk through all 30
 * endpoints (a desk pool of two, one clone booted) in which every answer the
 * simulator gives, errors included, is checked field by field against the
 * endpoint's response spec (support/ocloud-contract.ts: names, types, no
 * unknown fields) and every request body the test sends against the body
 * spec. Ends by requiring that each endpoint was called.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type Simulator } from '../src/vdi-sim/index.js';
import type { DesktopPoolVO, DomainVO, EventVO, UserGroupVO, UserListVo } from '../src/vdi-sim/records.js';
import { checkValue, endpointFor, loadContract, schemasOf } from './support/ocloud-contract.js';
import { defineSimTemplate, SimApi, type SimTemplate } from './support/vdi-sim-lab.js';

const LONG = 300_000;
const contract = loadContract();
const schemas = schemasOf(contract);

describe('simulator answers conform to api-subset.json', () => {
  let template: SimTemplate | undefined;
  let sim: Simulator | undefined;
  let stateDir = '';
  const called = new Set<string>();
  const problems: string[] = [];

  const observe = (method: string, requestPath: string, answer: { http: number; body: unknown; text: string }, requestBody: unknown): void => {
    const endpoint = endpointFor(contract, method, requestPath);
    if (endpoint === undefined) return void problems.push(`${method} ${requestPath}: not an endpoint of the contract`);
    called.add(`${endpoint.method} ${endpoint.path}`);
    if (answer.http !== 200) return void problems.push(`${method} ${requestPath}: HTTP ${answer.http} ${answer.text.slice(0, 200)}`);
    for (const p of checkValue(endpoint.response, answer.body, schemas)) problems.push(`${method} ${requestPath} answer ${p}`);
    if (requestBody !== undefined && endpoint.body !== undefined) {
      for (const p of checkValue(endpoint.body, requestBody, schemas)) problems.push(`${method} ${requestPath} request body ${p} (a test bug)`);
    }
  };

  beforeAll(async () => {
    template = await defineSimTemplate({ boot: true });
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'atp-vsim-state-'));
    sim = await startSimulator({ models: [template.name], stateDir });
  }, LONG);

  afterAll(async () => {
    await sim?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    await template?.remove();
  }, LONG);

  it(
    'answers every endpoint in the contract shape',
    async () => {
      const api = new SimApi((sim as Simulator).url, observe);
      const waitEvent = (id: string): Promise<EventVO> =>
        vi.waitFor(
          async () => {
            const e = await api.data<EventVO>('GET', `/ocloud/v1/event/${id}`);
            if (e.isSuccess === undefined) throw new Error(`event ${id} (${e.description}) did not finish in time`);
            return e;
          },
          { timeout: 120_000, interval: 250 },
        );
      const batch = async (verb: string, id: string, isForce?: number): Promise<void> => {
        const r = await api.data<{ eventIdList: string[] }>('POST', `/ocloud/v1/domain/${verb}`, { idList: [id], ...(isForce === undefined ? {} : { isForce }) });
        expect(await waitEvent(r.eventIdList[0] ?? '')).toMatchObject({ isSuccess: 1 });
      };

      await api.login();
      expect((await api.call('GET', '/ocloud/v1/host?pageNum=1&pageSize=5')).body.status).toBe(0);
      const hosts = await api.data<{ id: string }[]>('GET', '/ocloud/v1/host/all');
      const models = await api.data<{ list: DomainVO[] }>('GET', '/ocloud/v1/model?keyword=');
      const model = models.list[0] as DomainVO;

      const name = `vsim-${process.pid}-${randomBytes(3).toString('hex')}`;
      const created = await api.data<{ eventId: string }>('POST', '/ocloud/v1/desk-pool', { name, modelId: model.id, amount: 2, domainPrefix: name, type: 0, remark: 'conformance' });
      await waitEvent(created.eventId);
      const pool = (await api.data<{ list: DesktopPoolVO[] }>('GET', `/ocloud/v1/desk-pool?keyword=${name}&typeList=0,1`)).list[0] as DesktopPoolVO;
      const updated = await api.data<{ eventId: string }>('PATCH', `/ocloud/v1/desk-pool/${pool.id}`, { name, amount: 1, modelId: model.id, remark: 'one left' });
      await waitEvent(updated.eventId);
      await api.data('POST', `/ocloud/v1/desk-pool/${pool.id}/disable`);
      await api.data('POST', `/ocloud/v1/desk-pool/${pool.id}/enable`);
      const [domain] = await api.data<DomainVO[]>('GET', `/ocloud/v1/desk-pool/${pool.id}/domain/list`);
      if (domain === undefined) throw new Error('the pool has no domain');
      expect((await api.data<{ list: DomainVO[] }>('GET', `/ocloud/v1/domain?keyword=${name}&hostId=${hosts[0]?.id ?? ''}&isBindUser=0&status=0,1&pageSize=1`)).list).toHaveLength(1);
      await api.data('GET', `/ocloud/v1/domain/${model.id}`);
      await api.data('PATCH', `/ocloud/v1/domain/${domain.id}`, { name: `${name}-x`, remark: 'renamed' });
      expect(await api.data<DomainVO>('GET', `/ocloud/v1/domain/${domain.id}`)).toMatchObject({ name: `${name}-x`, remark: 'renamed' });

      const tree = await api.data<UserGroupVO[]>('GET', '/ocloud/v1/group/tree');
      const users = await api.data<{ list: UserListVo[] }>('GET', `/ocloud/v1/user?group=${encodeURIComponent(tree[0]?.distinguishedName ?? '')}&pageSize=50`);
      const ghost = '00000000-0000-4000-8000-000000000000';
      const bound = await api.data<{ notBindDomainIdList: string[] }>('POST', '/ocloud/v1/domain/bind-user', { domainIdList: [domain.id, ghost], userId: users.list[0]?.id ?? '' });
      expect(bound.notBindDomainIdList).toEqual([ghost]);
      expect(await api.data<DomainVO>('GET', `/ocloud/v1/domain/${domain.id}`)).toMatchObject({ userId: users.list[0]?.id });
      await api.data('POST', '/ocloud/v1/domain/unbind-user', { domainIdList: [domain.id] });

      await batch('start', domain.id);
      await api.data('GET', `/ocloud/v1/domain/${domain.id}/spice-key`);
      await api.data('GET', `/ocloud/v1/domain/${domain.id}/port`);
      await api.data('GET', `/ocloud/v1/domain/${domain.id}/vnc-password`);
      await batch('suspend', domain.id);
      await batch('resume', domain.id);
      await batch('reboot', domain.id, 1);
      await batch('close', domain.id, 1);
      const events = await api.data<{ list: EventVO[]; total: number }>('GET', '/ocloud/v1/event?pageSize=3&isSuccess=1');
      expect(events.list).toHaveLength(3);
      await api.data('GET', `/ocloud/v1/event?domainName=${name}&operateType=1`);

      // Error answers are envelopes too.
      expect((await api.call('GET', `/ocloud/v1/domain/${ghost}`)).body.status).toBe(1002);
      expect((await api.call('GET', `/ocloud/v1/domain/${domain.id}/spice-key`)).body.status).toBe(1004);
      expect((await api.call('GET', '/ocloud/v1/desk-pool?pageSize=abc')).body.status).toBe(1001);

      await api.data('POST', '/ocloud/v1/domain/delete', { domainIdList: [domain.id], isRecycle: 1 });
      await api.data('DELETE', `/ocloud/v1/desk-pool/${pool.id}`);
      await api.data('POST', '/ocloud/v1/logout');
      expect((await api.call('GET', '/ocloud/v1/host/all')).body.status).toBe(1006);

      expect(problems).toEqual([]);
      const missing = contract.map((e) => `${e.method} ${e.path}`).filter((k) => !called.has(k));
      expect(missing).toEqual([]);
      expect(called.size).toBe(30);
    },
    LONG,
  );
});
