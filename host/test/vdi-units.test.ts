/**
 * Pure parts of the OCloudView client: the page walker on made-up servers
 * (honest, shrinking, growing, without total, never-ending, ignoring pageNum),
 * the retry schedule and which failures are retried, request URLs, batch
 * answers to per-VM failures, the all-or-nothing error, placement on
 * hypervisors, and the no-echo prompt's key handling.
 */
import { AtpError } from '@atp/protocol';
import { describe, expect, it } from 'vitest';
import { ENDPOINTS } from '../src/vdi/endpoints.js';
import { promptKeys } from '../src/vdi/credentials.js';
import { batchResult, outcomesError, statusDeadline, type VmOutcome } from '../src/vdi/outcomes.js';
import { walkPages, type FetchPage } from '../src/vdi/paging.js';
import { placeDomains, sameUuid, withLibvirtUuid } from '../src/vdi/placement.js';
import { parseBaseUrl, requestUrl } from '../src/vdi/request-url.js';
import { DEFAULT_RETRY, isRetryable, retrySchedule } from '../src/vdi/retry.js';
import { domainSchema, type DomainVO } from '../src/vdi/schemas/domain.js';
import { hostSchema } from '../src/vdi/schemas/host.js';

interface Item {
  id: string;
}
const items = (n: number, prefix = 'i'): Item[] => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}` }));

/** A server over `data` that answers pages like the platform; `calls` records each pageNum. */
function server(data: () => Item[], shape: { total?: boolean; pageSizeCap?: number } = {}): { fetch: FetchPage<Item>; calls: number[] } {
  const calls: number[] = [];
  const fetch: FetchPage<Item> = async (pageNum, pageSize) => {
    calls.push(pageNum);
    const size = Math.min(pageSize, shape.pageSizeCap ?? pageSize);
    const all = data();
    const list = all.slice((pageNum - 1) * size, pageNum * size);
    return shape.total === false ? { list, pageNum, pageSize: size } : { list, total: all.length, pageNum, pageSize: size, pages: Math.ceil(all.length / size) };
  };
  return { fetch, calls };
}

describe('walkPages', () => {
  const label = 'GET /ocloud/v1/domain';

  it('collects every item across pages, from page 1, and stops at total', async () => {
    const s = server(() => items(250));
    const got = await walkPages(s.fetch, { label, pageSize: 100 });
    expect(got).toHaveLength(250);
    expect(got.at(-1)).toEqual({ id: 'i249' });
    expect(s.calls).toEqual([1, 2, 3]);
  });

  it('stops after one page when everything fits, and on an empty list', async () => {
    const small = server(() => items(3));
    expect(await walkPages(small.fetch, { label, pageSize: 100 })).toHaveLength(3);
    expect(small.calls).toEqual([1]);
    const none = server(() => []);
    expect(await walkPages(none.fetch, { label })).toEqual([]);
    expect(none.calls).toEqual([1]);
  });

  it('follows a server that caps the page size below the one asked for', async () => {
    const s = server(() => items(45), { pageSizeCap: 10 });
    expect(await walkPages(s.fetch, { label, pageSize: 100 })).toHaveLength(45);
    expect(s.calls).toEqual([1, 2, 3, 4, 5]);
  });

  it('without a total, stops at a short page', async () => {
    const s = server(() => items(25), { total: false });
    expect(await walkPages(s.fetch, { label, pageSize: 10 })).toHaveLength(25);
    expect(s.calls).toEqual([1, 2, 3]);
  });

  it('collects an item once when a deletion shifts the pages during the walk', async () => {
    let data = items(30);
    const s = server(() => data);
    const fetch: FetchPage<Item> = async (pageNum, pageSize) => {
      const page = await s.fetch(pageNum, pageSize);
      if (pageNum === 1) data = data.slice(1); // i0 deleted after page 1 was read: i10 moves to page 1
      return page;
    };
    const got = await walkPages(fetch, { label, pageSize: 10 });
    expect(new Set(got.map((i) => i.id)).size).toBe(got.length);
    expect(got.map((i) => i.id)).toContain('i29');
  });

  it('refuses a server whose pages never end', async () => {
    const endless: FetchPage<Item> = async (pageNum) => ({ list: items(10, `p${pageNum}-`), total: 1_000_000_000 });
    const error = await walkPages(endless, { label, pageSize: 10, maxPages: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtpError);
    expect(error).toMatchObject({ code: 'ATP_VDI_REPLY', details: { endpoint: label, maxPages: 50, items: 500 } });
    expect((error as Error).message).toContain(label);
  });

  it('refuses a server that ignores pageNum (the same page again)', async () => {
    const s = server(() => items(10));
    const stuck: FetchPage<Item> = async (_n, size) => ({ ...(await s.fetch(1, size)), total: 25 });
    await expect(walkPages(stuck, { label, pageSize: 10 })).rejects.toMatchObject({ code: 'ATP_VDI_REPLY', details: { pageNum: 2 } });
  });
});

describe('retries', () => {
  it('the schedule grows exponentially, is capped and jittered downwards only', () => {
    const policy = { attempts: 7, backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 } };
    expect(retrySchedule(policy, () => 0)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(retrySchedule(policy, () => 0.999999)).toEqual([50, 100, 200, 400, 500, 500]);
    for (let i = 0; i < 50; i++) {
      const delays = retrySchedule(policy);
      delays.forEach((d, n) => {
        const full = Math.min(1000, 100 * 2 ** n);
        expect(d).toBeGreaterThanOrEqual(full / 2);
        expect(d).toBeLessThanOrEqual(full);
      });
    }
    expect(retrySchedule({ ...policy, attempts: 1 })).toEqual([]);
    expect(retrySchedule(DEFAULT_RETRY)).toHaveLength(DEFAULT_RETRY.attempts - 1);
  });

  it('retries GETs on timeouts, network errors and 5xx only; never other methods', () => {
    const timeout = new AtpError('ATP_VDI_TIMEOUT', 't');
    const network = new AtpError('ATP_VDI_HTTP', 'n', { details: { network: true } });
    const http502 = new AtpError('ATP_VDI_HTTP', 'h', { details: { httpStatus: 502 } });
    const http404 = new AtpError('ATP_VDI_HTTP', 'h', { details: { httpStatus: 404 } });
    for (const e of [timeout, network, http502]) expect(isRetryable('GET', e)).toBe(true);
    for (const e of [http404, new AtpError('ATP_VDI_STATUS', 's'), new AtpError('ATP_VDI_REPLY', 'r'), new Error('x')]) expect(isRetryable('GET', e)).toBe(false);
    for (const m of ['POST', 'PATCH', 'DELETE'] as const) for (const e of [timeout, network, http502]) expect(isRetryable(m, e)).toBe(false);
  });
});

describe('request URLs', () => {
  const base = parseBaseUrl('http://10.0.0.1:8088/');

  it('fills path parameters (encoded) and puts the rest in the query, arrays repeated', () => {
    expect(requestUrl(base, ENDPOINTS.domainOne, { id: 'a/b c' }).url.href).toBe('http://10.0.0.1:8088/ocloud/v1/domain/a%2Fb%20c');
    const { url, path } = requestUrl(base, ENDPOINTS.poolPage, { keyword: 'lab', typeList: [0, 2], pageNum: 1, pageSize: 100 });
    expect(path).toBe('/ocloud/v1/desk-pool');
    expect(url.search).toBe('?keyword=lab&typeList=0&typeList=2&pageNum=1&pageSize=100');
    expect(requestUrl(parseBaseUrl('https://p.example/api'), ENDPOINTS.hostAll, {}).url.href).toBe('https://p.example/api/ocloud/v1/host/all');
  });

  it('refuses bad parameters and base URLs with typed errors naming the field', () => {
    expect(() => requestUrl(base, ENDPOINTS.domainOne, { id: '' })).toThrow(expect.objectContaining({ code: 'ATP_VDI_ARGUMENT', message: expect.stringContaining('params.id') }));
    expect(() => requestUrl(base, ENDPOINTS.userPage, {})).toThrow(expect.objectContaining({ code: 'ATP_VDI_ARGUMENT', message: expect.stringContaining('params.group') }));
    expect(() => requestUrl(base, ENDPOINTS.domainPage, { hostid: 'x' })).toThrow(expect.objectContaining({ code: 'ATP_VDI_ARGUMENT', message: expect.stringContaining('hostid') }));
    const secret = 'hunter2';
    let error: unknown;
    try {
      parseBaseUrl(`http://admin:${secret}@10.0.0.1:8088`);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ATP_VDI_ARGUMENT' });
    expect(JSON.stringify({ m: (error as Error).message, d: (error as AtpError).details })).not.toContain(secret);
    expect(() => parseBaseUrl('ftp://x')).toThrow(expect.objectContaining({ code: 'ATP_VDI_ARGUMENT' }));
    expect(() => parseBaseUrl('10.0.0.1:8088')).toThrow(expect.objectContaining({ code: 'ATP_VDI_ARGUMENT' }));
  });
});

describe('batch answers and outcomes', () => {
  it('turns every errorList entry into that VM’s failure, also one without an id', () => {
    const r = batchResult('start', {
      eventIdList: ['e1'],
      errorList: [
        { domainId: 'd2', domainName: 'vm-02', errorMsg: 'host is full' },
        { domainId: undefined, domainName: undefined, errorMsg: undefined },
      ],
    });
    expect(r.eventIds).toEqual(['e1']);
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toMatchObject({ domainId: 'd2', domainName: 'vm-02', error: { code: 'ATP_VDI_TASK', message: 'start of VM vm-02 (d2) refused by the platform: host is full' } });
    expect(r.errors[1]?.error).toMatchObject({ code: 'ATP_VDI_TASK' });
  });

  it('folds failures into one error: ATP_VDI_DEADLINE naming each late VM and its last status', () => {
    const outcomes: VmOutcome[] = [
      { domainId: 'd1', domainName: 'vm-01', ok: true, status: 1 },
      { domainId: 'd2', domainName: 'vm-02', ok: false, status: 0, error: statusDeadline('d2', 'vm-02', 0, [1], 5000) },
      { domainId: 'd3', domainName: 'vm-03', ok: false, status: 5, error: statusDeadline('d3', 'vm-03', 5, [1], 5000) },
    ];
    expect(outcomes[1]?.error?.message).toBe('VM vm-02 (d2) is still 0 (shut off) after 5000 ms; wanted 1 (running)');
    const error = outcomesError(outcomes, 'start');
    expect(error?.code).toBe('ATP_VDI_DEADLINE');
    expect(error?.message).toBe('start: 2 of 3 VMs not in the wanted state in time: vm-02 (d2): still 0 (shut off); vm-03 (d3): still 5 (operation in progress)');
    expect(outcomesError(outcomes.slice(0, 1), 'start')).toBeUndefined();
    const task = batchResult('close', { eventIdList: [], errorList: [{ domainId: 'd4', domainName: 'vm-04', errorMsg: 'busy' }] }).errors[0];
    expect(outcomesError([{ ...task, ok: false }], 'close')?.code).toBe('ATP_VDI_TASK');
  });
});

describe('placement', () => {
  const host = (id: string, ip?: string) => hostSchema.parse({ id, name: `host-${id}`, status: 1, ip });
  const vm = (id: string, name: string, hostId?: string): DomainVO => domainSchema.parse({ id, name, status: 1, hostId });

  it('resolves each VM to its hypervisor ip, name and platform id', () => {
    expect(placeDomains([vm('u1', 'vm-01', 'h1'), vm('u2', 'vm-02', 'h2')], [host('h1', '10.0.0.11'), host('h2', '10.0.0.12')])).toEqual([
      { platformId: 'u1', domainName: 'vm-01', hostId: 'h1', hostIp: '10.0.0.11', hostName: 'host-h1' },
      { platformId: 'u2', domainName: 'vm-02', hostId: 'h2', hostIp: '10.0.0.12', hostName: 'host-h2' },
    ]);
  });

  it('names every VM it cannot place: unknown hostId, no hostId, host without ip', () => {
    let error: unknown;
    try {
      placeDomains([vm('u1', 'vm-01', 'h1'), vm('u2', 'vm-02', 'gone'), vm('u3', 'vm-03'), vm('u4', 'vm-04', 'h9')], [host('h1', '10.0.0.11'), host('h9')]);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ATP_VDI_PLACEMENT' });
    const message = (error as Error).message;
    expect(message).toContain('VM vm-02 (u2) names host gone');
    expect(message).toContain('VM vm-03 (u3) has no hostId');
    expect(message).toContain('VM vm-04 (u4) runs on host host-h9 (h9), which has no ip');
    expect(message).not.toContain('vm-01');
  });

  it('says whether the libvirt UUID is the platform id', () => {
    const [p] = placeDomains([vm('3F2A0C1E-0000-4000-8000-00000000000A', 'vm-01', 'h1')], [host('h1', '10.0.0.11')]);
    if (!p) throw new Error('not placed');
    expect(withLibvirtUuid(p, '3f2a0c1e-0000-4000-8000-00000000000a').identity).toBe('uuid-match');
    expect(withLibvirtUuid(p, '11111111-2222-4333-8444-555555555555').identity).toBe('name-only');
    expect(sameUuid('3f2a0c1e00004000800000000000000a', '3F2A0C1E-0000-4000-8000-00000000000A')).toBe(true);
    expect(sameUuid('', '')).toBe(false);
  });
});

describe('no-echo prompt keys', () => {
  const type = (chunks: string[]) => chunks.reduce((s, c) => (s.done ? s : promptKeys(s, c)), { text: '', done: undefined } as ReturnType<typeof promptKeys>);

  it('collects characters until Enter, with Backspace, and ignores other control characters', () => {
    expect(type(['pa', 'sx\u007fs', '\u001bw', 'ö\r', 'ignored'])).toEqual({ text: 'passwö', done: 'enter' });
    expect(type(['abc\n'])).toEqual({ text: 'abc', done: 'enter' });
  });

  it('cancels on Ctrl-C, and on Ctrl-D at an empty line', () => {
    expect(type(['abc', '\u0003'])).toEqual({ text: '', done: 'cancel' });
    expect(type(['\u0004'])).toEqual({ text: '', done: 'cancel' });
    expect(type(['a\u0004b\r'])).toEqual({ text: 'ab', done: 'enter' });
  });
});
