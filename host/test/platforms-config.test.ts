/**
 * platforms.yaml: add/remove keeping comments, 0600 atomic writes, defaults
 * (password from ATP_VDI_PASSWORD unless a file or another variable is named),
 * and typed errors naming the file, the field and its line:col.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPlatform, effectivePlatform, loadPlatforms, removePlatform } from '../src/config/platforms-file.js';

describe('platforms.yaml', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-platforms-config-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a missing file is an empty config', async () => {
    const loaded = await loadPlatforms({ configDir: path.join(dir, 'none') });
    expect(loaded).toMatchObject({ exists: false, platforms: {} });
    expect(() => effectivePlatform(loaded, 'office')).toThrow(expect.objectContaining({ code: 'ATP_CONFIG_PLATFORM_UNKNOWN', message: expect.stringContaining("no platform named 'office' (known: none") }));
  });

  it('adds and removes platforms, keeping the commented header; applies defaults and expands ~', async () => {
    const cd = path.join(dir, 'edit');
    await addPlatform('office', { url: 'http://10.0.0.2:8088/', username: 'admin', passwordFile: '~/office.pw', hosts: { '10.0.0.11': 'hv1' } }, { configDir: cd });
    await addPlatform('sim', { url: 'http://127.0.0.1:18088', username: 'admin' }, { configDir: cd });
    const file = path.join(cd, 'platforms.yaml');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toMatch(/^# ATP VDI platforms[\s\S]*office:\n\s+url: http:\/\/10\.0\.0\.2:8088\//);
    const loaded = await loadPlatforms({ configDir: cd });
    expect(effectivePlatform(loaded, 'office', { HOME: '/home/u' })).toEqual({
      name: 'office', url: 'http://10.0.0.2:8088', username: 'admin', password: { kind: 'file', file: '/home/u/office.pw' }, timeoutMs: undefined, hosts: { '10.0.0.11': 'hv1' },
    });
    expect(effectivePlatform(loaded, 'sim').password).toEqual({ kind: 'env', name: 'ATP_VDI_PASSWORD' });
    await expect(addPlatform('sim', { url: 'http://x', username: 'a' }, { configDir: cd })).rejects.toMatchObject({ code: 'ATP_CONFIG_PLATFORM_EXISTS' });
    const after = await removePlatform('office', { configDir: cd });
    expect(Object.keys(after.platforms)).toEqual(['sim']);
    expect(await readFile(file, 'utf8')).toMatch(/^# ATP VDI platforms/);
    await expect(removePlatform('office', { configDir: cd })).rejects.toMatchObject({ code: 'ATP_CONFIG_PLATFORM_UNKNOWN' });
  });

  it('refuses credentials in the URL, both password sources, and unknown fields, naming file, field and line:col', async () => {
    const cd = path.join(dir, 'bad');
    await expect(addPlatform('p', { url: 'http://admin:secret@10.0.0.2:8088', username: 'admin' }, { configDir: cd })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID', message: expect.stringContaining('credentials do not belong in the URL') });
    await expect(addPlatform('p', { url: 'ftp://10.0.0.2', username: 'admin' }, { configDir: cd })).rejects.toMatchObject({ message: expect.stringContaining('http:// or https://') });
    await expect(addPlatform('p', { url: 'http://h', username: 'a', passwordFile: 'f', passwordEnv: 'X' }, { configDir: cd })).rejects.toMatchObject({ message: expect.stringContaining('passwordFile or passwordEnv, not both') });
    const file = path.join(cd, 'platforms.yaml');
    await mkdir(cd, { recursive: true });
    await writeFile(file, 'version: 1\nplatforms:\n  office:\n    url: http://10.0.0.2:8088\n    username: admin\n    password: hunter2\n');
    const error = await loadPlatforms({ configDir: cd }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/6:5: platforms\.office/);
    await writeFile(file, 'platforms:\n  office: [\n');
    await expect(loadPlatforms({ configDir: cd })).rejects.toMatchObject({ code: 'ATP_CONFIG_YAML', message: expect.stringMatching(/platforms\.yaml:\d+:\d+/) });
  });
});
