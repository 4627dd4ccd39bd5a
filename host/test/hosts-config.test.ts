/**
 * hosts.yaml: where it lives (ATP_CONFIG_DIR, XDG_CONFIG_HOME, ~/.config),
 * `config init|show`, add/remove keeping comments, 0600 atomic writes, and
 * typed errors naming the file, the field and its line:col.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { addHost, effectiveHost, loadHosts, removeHost } from '../src/config/hosts-file.js';
import { configDir } from '../src/config/paths.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('hosts.yaml', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-hosts-config-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('resolves the config dir: explicit, ATP_CONFIG_DIR, XDG_CONFIG_HOME (absolute only), ~/.config', () => {
    expect(configDir({ configDir: '/x/y', env: { ATP_CONFIG_DIR: '/a' } })).toBe('/x/y');
    expect(configDir({ env: { ATP_CONFIG_DIR: '/a', XDG_CONFIG_HOME: '/xdg' } })).toBe('/a');
    expect(configDir({ env: { XDG_CONFIG_HOME: '/xdg', HOME: '/home/u' } })).toBe('/xdg/atp');
    expect(configDir({ env: { XDG_CONFIG_HOME: 'relative', HOME: '/home/u' } })).toBe('/home/u/.config/atp');
    expect(configDir({ env: { HOME: '/home/u' } })).toBe('/home/u/.config/atp');
  });

  it('config init writes the commented default once (0600); show prints the effective config', async () => {
    const cd = path.join(dir, 'init');
    const first = await cli(['config', 'init', '--config-dir', cd, '--json']);
    expect(JSON.parse(first.out)).toEqual({ file: path.join(cd, 'hosts.yaml'), created: true });
    const text = await readFile(path.join(cd, 'hosts.yaml'), 'utf8');
    expect(text).toMatch(/^# ATP hosts/);
    expect((await stat(path.join(cd, 'hosts.yaml'))).mode & 0o777).toBe(0o600);
    expect(JSON.parse((await cli(['config', 'init', '--config-dir', cd, '--json'])).out)).toMatchObject({ created: false });
    const show = JSON.parse((await cli(['config', 'show', '--config-dir', cd, '--json'])).out) as Record<string, unknown>;
    expect(show).toEqual({ configDir: cd, hostsFile: path.join(cd, 'hosts.yaml'), exists: true, hosts: [{ name: 'local', kind: 'local', libvirtUri: 'qemu:///system' }] });
  });

  it('adds and removes hosts, keeping comments; applies defaults and expands ~', async () => {
    const cd = path.join(dir, 'edit');
    await cli(['config', 'init', '--config-dir', cd]);
    await addHost('hv1', { kind: 'ssh', host: 'hv1.example', user: 'atp', identityFile: '~/.ssh/id_atp', maxConcurrency: 3 }, { configDir: cd });
    const loaded = await loadHosts({ configDir: cd });
    expect(effectiveHost(loaded, 'hv1', { HOME: '/home/u' })).toEqual({
      name: 'hv1', kind: 'ssh', host: 'hv1.example', port: 22, user: 'atp', identityFile: '/home/u/.ssh/id_atp', agent: false,
      knownHostsFile: '/home/u/.ssh/known_hosts', libvirtUri: 'qemu:///system', maxConcurrency: 3, connectTimeoutMs: undefined,
    });
    expect(await readFile(path.join(cd, 'hosts.yaml'), 'utf8')).toMatch(/^# ATP hosts[\s\S]*hv1:\n\s+kind: ssh/);
    await expect(addHost('hv1', { kind: 'local' }, { configDir: cd })).rejects.toMatchObject({ code: 'ATP_CONFIG_HOST_EXISTS' });
    await expect(addHost('bad name', { kind: 'local' }, { configDir: cd })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
    await removeHost('hv1', { configDir: cd });
    expect(Object.keys((await loadHosts({ configDir: cd })).hosts)).toEqual(['local']);
    await expect(removeHost('hv1', { configDir: cd })).rejects.toMatchObject({ code: 'ATP_CONFIG_HOST_UNKNOWN' });
    // no temp files left behind by the atomic writes
    expect(await readdir(cd)).toEqual(['hosts.yaml']);
  });

  it('a missing file is an empty config', async () => {
    expect(await loadHosts({ configDir: path.join(dir, 'absent') })).toMatchObject({ exists: false, hosts: {} });
  });

  it('invalid hosts.yaml: typed errors naming the file, the field and line:col', async () => {
    const cd = path.join(dir, 'bad');
    const file = path.join(cd, 'hosts.yaml');
    await cli(['config', 'init', '--config-dir', cd]);
    await writeFile(file, 'hosts:\n  hv1:\n    kind: ssh\n    host: h\n    user: u\n    identityFile: k\n    port: "22"\n  hv2:\n    kind: ssh\n    host: h\n    user: u\n    agnet: true\n');
    const error = loadHosts({ configDir: cd });
    await expect(error).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID', details: { source: file } });
    await expect(error).rejects.toThrow(`${file}: invalid hosts config: 7:11: hosts.hv1.port: expected number, got string`);
    await expect(error).rejects.toThrow('12:5: hosts.hv2.agnet: unknown field');
    const viaCli = await cli(['host', 'list', '--config-dir', cd]);
    expect(viaCli.code).toBe(2);
    expect(viaCli.err).toContain(`ATP_SCHEMA_INVALID: ${file}`);
    await writeFile(file, 'hosts:\n  hv1: [unclosed\n');
    await expect(loadHosts({ configDir: cd })).rejects.toMatchObject({ code: 'ATP_CONFIG_YAML', details: { file, line: expect.any(Number) as unknown } });
    await expect(loadHosts({ configDir: cd })).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
    await writeFile(file, 'hosts:\n  hv1:\n    kind: ssh\n    host: h\n    user: u\n');
    await expect(loadHosts({ configDir: cd })).rejects.toThrow('hosts.hv1.identityFile: needs identityFile or agent: true');
  });
});
