/**
 * The simulator's pure parts and the contract checker, without libvirt:
 * seed validation (errors name the source and field), the seed file reader
 * (file, YAML position, admin password precedence), token expiry, paging,
 * libvirt state → platform status, and the api-subset.json checker itself
 * (it must catch wrong types, missing required fields, unknown fields).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex, TokenStore } from '../src/vdi-sim/auth.js';
import { page } from '../src/vdi-sim/input.js';
import { platformStatus } from '../src/vdi-sim/records.js';
import { loadSeed } from '../src/vdi-sim/seed-file.js';
import { DEFAULT_SEED, resolveSeed } from '../src/vdi-sim/seed.js';
import { checkValue, endpointFor, loadContract, schemasOf } from './support/ocloud-contract.js';

describe('seed', () => {
  it('resolves the default seed: one OU, two users with stable ids and DNs', () => {
    const a = resolveSeed(DEFAULT_SEED);
    const b = resolveSeed(DEFAULT_SEED);
    expect(a.tree).toHaveLength(1);
    expect(a.users.map((u) => u.distinguishedName)).toEqual(['CN=User One,OU=atp,DC=atp,DC=local', 'CN=User Two,OU=atp,DC=atp,DC=local']);
    expect(a.users.map((u) => u.id)).toEqual(b.users.map((u) => u.id));
    expect(a.users[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses a user whose OU does not exist, naming the source and field', () => {
    const seed = { ...DEFAULT_SEED, users: [{ sAMAccountName: 'x', displayName: 'X', password: 'p', ou: 'nowhere' }] };
    expect(() => resolveSeed(seed, 'my.yaml')).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', message: expect.stringMatching(/my\.yaml.*users\[0\]\.ou.*nowhere/) }));
  });

  it('nests OUs: children get the parent id', () => {
    const d = resolveSeed({ ...DEFAULT_SEED, ous: [{ ou: 'top', distinguishedName: 'OU=top,DC=x', children: [{ ou: 'sub', distinguishedName: 'OU=sub,OU=top,DC=x' }] }], users: [{ sAMAccountName: 'u', displayName: 'U', password: 'p', ou: 'sub' }] });
    expect(d.tree[0]?.children[0]?.parentId).toBe(d.tree[0]?.id);
    expect(d.users[0]?.ou.ou).toBe('sub');
  });
});

describe('seed file', () => {
  let dir = '';
  beforeAll(async () => void (dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vsim-seed-'))));
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('names the file and field of a schema problem', async () => {
    const file = path.join(dir, 'bad-field.yaml');
    await writeFile(file, 'admin:\n  username: boss\nusers:\n  - sAMAccountName: a\n    displayName: A\n    password: 7\n    ou: atp\n');
    await expect(loadSeed(file, {})).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID', message: expect.stringMatching(/bad-field\.yaml.*users\[0\]\.password/) });
  });

  it('names the file, line and column of bad YAML, and of a missing file', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'admin:\n  username: [unclosed\n');
    await expect(loadSeed(file, {})).rejects.toMatchObject({ code: 'ATP_VDI_SIM_SEED', message: expect.stringMatching(/bad\.yaml:\d+:\d+: not valid YAML/) });
    await expect(loadSeed(path.join(dir, 'missing.yaml'), {})).rejects.toMatchObject({ code: 'ATP_VDI_SIM_SEED', message: expect.stringContaining('missing.yaml') });
  });

  it('takes the admin password from the environment, else the file, else the default', async () => {
    const file = path.join(dir, 'ok.yaml');
    await writeFile(file, 'admin:\n  username: boss\n  password: from-file\n');
    expect(await loadSeed(file, { ATP_VDI_SIM_PASSWORD: 'from-env' })).toMatchObject({ passwordSource: 'env', seed: { admin: { username: 'boss', password: 'from-env' } } });
    expect(await loadSeed(file, {})).toMatchObject({ passwordSource: 'file', seed: { admin: { password: 'from-file' } } });
    expect(await loadSeed(undefined, {})).toMatchObject({ passwordSource: 'default', seed: { admin: { username: 'admin', password: 'admin123' } } });
  });
});

describe('tokens', () => {
  it('issues tokens for the MD5 of the password only, and expires them', () => {
    let now = 1000;
    const tokens = new TokenStore({ username: 'admin', password: 'pw' }, 5000, () => now);
    expect(tokens.login('admin', md5Hex('wrong'))).toBeUndefined();
    expect(tokens.login('admin', 'pw')).toBeUndefined();
    expect(tokens.login('other', md5Hex('pw'))).toBeUndefined();
    const t = tokens.login('admin', md5Hex('pw').toUpperCase());
    expect(tokens.check(t)).toBe('admin');
    now += 4999;
    expect(tokens.check(t)).toBe('admin');
    now += 1;
    expect(tokens.check(t)).toBeUndefined();
    const u = tokens.login('admin', md5Hex('pw'));
    tokens.expireAll();
    expect(tokens.check(u)).toBeUndefined();
    expect(tokens.check(undefined)).toBeUndefined();
  });
});

describe('paging and status', () => {
  it('pages with pageNum from 1 and pageSize 10 by default', () => {
    const items = Array.from({ length: 23 }, (_, i) => i);
    expect(page(items, {})).toEqual({ list: items.slice(0, 10), total: 23, pageNum: 1, pageSize: 10, pages: 3 });
    expect(page(items, { pageNum: 3, pageSize: 10 }).list).toEqual([20, 21, 22]);
    expect(page(items, { pageNum: 4 }).list).toEqual([]);
    expect(page([], {})).toMatchObject({ total: 0, pages: 0 });
  });

  it('maps libvirt states to platform statuses', () => {
    expect(platformStatus('running', false)).toBe(1);
    expect(platformStatus('paused', false)).toBe(2);
    expect(platformStatus('shutoff', false)).toBe(0);
    expect(platformStatus(undefined, false)).toBe(0);
    expect(platformStatus(undefined, true)).toBe(5);
  });
});

describe('contract checker', () => {
  const contract = loadContract();
  const schemas = schemasOf(contract);

  it('reads 30 endpoints and resolves paths with ids', () => {
    expect(contract).toHaveLength(30);
    expect(endpointFor(contract, 'GET', '/ocloud/v1/domain/abc/spice-key?x=1')?.operationId).toBe('querySpiceKeyUsingGET');
    expect(endpointFor(contract, 'POST', '/ocloud/v1/domain/start')?.operationId).toBe('batchStartUsingPOST');
    expect(endpointFor(contract, 'GET', '/ocloud/v1/domain/start')?.operationId).toBe('queryOneDomainUsingGET');
  });

  it('accepts a conforming answer and flags wrong types, unknown and missing fields', () => {
    const spice = endpointFor(contract, 'GET', '/ocloud/v1/domain/x/spice-key')?.response ?? {};
    expect(checkValue(spice, { status: 0, msg: 'ok', data: { port: '5900', key: 'k' } }, schemas)).toEqual([]);
    expect(checkValue(spice, { status: 0, data: { port: 5900 } }, schemas)).toEqual(['$.data.port: expected a string (got 5900)']);
    expect(checkValue(spice, { status: 1.5, data: { porty: '1' } }, schemas)).toEqual(['$.data.porty: not a field of SpiceKeyVO', '$.status: expected a 32-bit integer (got 1.5)']);
    const del = endpointFor(contract, 'POST', '/ocloud/v1/domain/delete')?.body ?? {};
    expect(checkValue(del, { domainIdList: ['a'] }, schemas)).toEqual(['$.isRecycle: required but absent']);
  });

  it('follows named schemas (UserGroupVO.list) and checks Timestamps and date-times', () => {
    const tree = endpointFor(contract, 'GET', '/ocloud/v1/group/tree')?.response ?? {};
    expect(checkValue(tree, { status: 0, data: [{ id: 'a', list: [{ id: 'b', list: [] }] }] }, schemas)).toEqual([]);
    expect(checkValue(tree, { status: 0, data: [{ id: 'a', list: [{ id: 7 }] }] }, schemas)).toEqual(['$.data[0].list[0].id: expected a string (got 7)']);
    const one = endpointFor(contract, 'GET', '/ocloud/v1/domain/x')?.response ?? {};
    expect(checkValue(one, { data: { createTime: { time: 5 } } }, schemas)).toEqual([]);
    expect(checkValue(one, { data: { createTime: 5 } }, schemas)).toHaveLength(1);
    const ev = endpointFor(contract, 'GET', '/ocloud/v1/event/x')?.response ?? {};
    expect(checkValue(ev, { data: { createTime: '2024-01-02T03:04:05.000Z' } }, schemas)).toEqual([]);
    expect(checkValue(ev, { data: { createTime: 'yesterday' } }, schemas)).toHaveLength(1);
  });
});
