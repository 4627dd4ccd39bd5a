/**
 * `atp-host vm clone` and `vm unclone` as processes (the atp-host entry run
 * by node), on a real libvirtd: a diskless template (SeaBIOS, an agent
 * channel, a console file, VNC) cloned twice, printed as a table and recorded
 * in PREFIX.clones.json; a taken prefix refused; unclone removing the clones
 * (also one the state file does not know), their dirs and the state file, and
 * saying so when there is nothing left. `--define --json` makes persistent
 * clones. Through a real local sshd (hosts.yaml host `loop`) the diskless
 * template clones and unclones too, while a template with a writable disk is
 * refused before anything is made. Argument errors exit 2.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDomainXml, VirshLibvirtClient } from '../src/vm/libvirt/index.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from './support/libvirtd.js';
import { startSshd, type Sshd } from './support/sshd.js';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
let release: (() => Promise<void>) | undefined;
let client: VirshLibvirtClient;
let sshd: Sshd | undefined;
let dir = '';
let configDir = '';
const template = testDomainName('atp-clitpl');
const diskTemplate = testDomainName('atp-clitpl-disk');
const prefixes: string[] = [];

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** The atp-host entry as a child process. */
function atp(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', main, ...args, '--config-dir', configDir], { timeout: 120_000 }, (_error, out, err) => resolve({ code: child.exitCode, out, err }));
  });
}
const exists = (p: string): Promise<boolean> => stat(p).then(
  () => true,
  () => false,
);
async function domainsOf(prefix: string): Promise<string[]> {
  return (await client.listDomains())
    .map((d) => d.name)
    .filter((n) => n.startsWith(`${prefix}-`))
    .sort();
}
const newPrefix = (tag: string): string => {
  const p = testDomainName(`atp-cl${tag}`);
  prefixes.push(p);
  return p;
};

beforeAll(async () => {
  release = await acquireLibvirtSuiteLock();
  await ensureLibvirtd();
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-clone-cli-'));
  configDir = path.join(dir, 'config');
  client = new VirshLibvirtClient({ uri: SYSTEM_URI });
  const tplDir = path.join(dir, 'template');
  await client.define(buildDomainXml({ name: template, agentSocketPath: path.join(tplDir, 'agent.sock'), consoleLogPath: path.join(tplDir, 'console.log'), graphics: { type: 'vnc', port: 5977 } }));
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${path.join(dir, 'disk.img')}'/><target dev='vda' bus='virtio'/></disk>`;
  await client.define(buildDomainXml({ name: diskTemplate }).replace('</devices>', `  ${disk}\n  </devices>`));
  sshd = await startSshd();
  await mkdir(configDir);
  const knownHosts = path.join(configDir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${await sshd.hostPublicKey()}\n`);
  const hosts = ['version: 1', 'hosts:', '  loop:', '    kind: ssh', '    host: 127.0.0.1', `    port: ${sshd.port}`, `    user: ${sshd.user}`, `    identityFile: ${sshd.identityFile}`, `    knownHostsFile: ${knownHosts}`, ''];
  await writeFile(path.join(configDir, 'hosts.yaml'), hosts.join('\n'), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  if (client !== undefined) {
    const names = (await client.listDomains().catch(() => [])).map((d) => d.name).filter((n) => prefixes.some((p) => n.startsWith(`${p}-`)));
    await Promise.all([...names, template, diskTemplate].map((n) => removeDomain(n)));
    await client.close();
  }
  await sshd?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
  await release?.();
}, 120_000);

describe('atp-host vm clone / unclone on this machine', () => {
  it('clones twice, prints name, uuid and dir, records them; refuses the prefix while taken; unclone removes everything', async () => {
    const prefix = newPrefix('a');
    const root = path.join(dir, 'root-a');
    const r = await atp('vm', 'clone', template, '--count', '2', '--prefix', prefix, '--dir', root);
    expect(r.code, r.err).toBe(0);
    const stateFile = path.join(root, `${prefix}.clones.json`);
    expect(r.err).toContain(`vm clone: 2 clone(s) of ${template} on local, recorded in ${stateFile} (remove them with: atp-host vm unclone ${prefix} --dir ${root})`);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +UUID +DIR$/);
    const rows = lines.slice(1).map((l) => l.split(/ +/));
    expect(rows.map((row) => row[0])).toEqual([`${prefix}-1`, `${prefix}-2`]);
    for (const [name = '', uuid = '', cloneDir = ''] of rows) {
      expect(await client.lookup(name)).toMatchObject({ state: 'running', persistent: false, uuid });
      expect(cloneDir).toBe(path.join(root, name));
      expect((await stat(path.join(cloneDir, 'agent.sock'))).isSocket()).toBe(true);
    }
    expect(rows[0]?.[1]).not.toBe(rows[1]?.[1]);
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as unknown;
    expect(state).toMatchObject({ version: 1, template, prefix, rootDir: root, clones: rows.map(([name, uuid, d]) => ({ name, uuid, dir: d })) });

    const again = await atp('vm', 'clone', template, '--count', '1', '--prefix', prefix, '--dir', root);
    expect(again.code).toBe(2);
    expect(again.err).toContain(`ATP_LIBVIRT_CLONE: template '${template}': cannot clone: a domain named ${prefix}-1 already exist`);
    expect(await domainsOf(prefix)).toEqual([`${prefix}-1`, `${prefix}-2`]);

    // A clone the state file does not know (made by hand) goes too.
    await client.create(buildDomainXml({ name: `${prefix}-7` }));
    const gone = await atp('vm', 'unclone', prefix, '--dir', root);
    expect(gone).toMatchObject({ code: 0, out: `removed ${prefix}-1\nremoved ${prefix}-2\nremoved ${prefix}-7\n` });
    expect(await domainsOf(prefix)).toEqual([]);
    expect(await readdir(root)).toEqual([]);
    expect(await atp('vm', 'unclone', prefix, '--dir', root)).toMatchObject({ code: 0, out: `no clones named ${prefix}-<n> on local\n` });
  }, 180_000);

  it('--define --json: persistent clones, printed as JSON; unclone --json undefines them', async () => {
    const prefix = newPrefix('d');
    const root = path.join(dir, 'root-d');
    const r = await atp('vm', 'clone', template, '--count', '2', '--prefix', prefix, '--dir', root, '--define', '--json');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { host: string; persistent: boolean; stateFile: string; clones: { name: string; uuid: string; dir: string; agentSocketPath: string }[] };
    expect(out).toMatchObject({ host: 'local', template, prefix, rootDir: root, persistent: true, stateFile: path.join(root, `${prefix}.clones.json`) });
    expect(out.clones.map((c) => [c.name, c.dir, c.agentSocketPath])).toEqual([1, 2].map((n) => [`${prefix}-${n}`, path.join(root, `${prefix}-${n}`), path.join(root, `${prefix}-${n}`, 'agent.sock')]));
    for (const c of out.clones) expect(await client.lookup(c.name)).toMatchObject({ state: 'running', persistent: true, uuid: c.uuid });
    const gone = await atp('vm', 'unclone', prefix, '--dir', root, '--json');
    expect(gone.code, gone.err).toBe(0);
    expect(JSON.parse(gone.out)).toEqual({ host: 'local', prefix, removed: [`${prefix}-1`, `${prefix}-2`], stateFile: out.stateFile });
    expect(await domainsOf(prefix)).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  }, 180_000);

  it('argument errors exit 2 naming the flag; an unknown template exits 3 naming it; nothing is made', async () => {
    const root = path.join(dir, 'never');
    for (const [args, message] of [
      [['--count', '0'], '--count expects a positive integer, got "0"'],
      [['--count', 'x'], '--count expects a positive integer, got "x"'],
      [['--count', '1', '--prefix', 'a/b'], 'clone option prefix: up to 64 letters'],
      [['--count', '1000'], 'clone option count: an integer from 1 to 999 (got 1000)'],
      [['--count', '1', '--host', 'other'], `${template}@loop names host 'loop' but --host says 'other'`],
    ] as const satisfies readonly (readonly [readonly string[], string])[]) {
      const r = await atp('vm', 'clone', (args as readonly string[]).includes('--host') ? `${template}@loop` : template, ...args, '--dir', root);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toContain('ATP_SCHEMA_INVALID');
      expect(r.err).toContain(message);
    }
    expect((await atp('vm', 'clone', template, '--dir', root)).code).toBe(2);
    const unknown = await atp('vm', 'clone', 'atp-no-such-template', '--count', '1', '--dir', root);
    expect(unknown.code).toBe(3);
    expect(unknown.err).toMatch(/ATP_LIBVIRT_DOMAIN_NOT_FOUND.*atp-no-such-template/);
    expect(await exists(root)).toBe(false);
  }, 180_000);
});

describe('atp-host vm clone / unclone through SSH (hosts.yaml host loop)', () => {
  it('clones a diskless template as NAME@loop and unclones it with --host loop', async () => {
    const prefix = newPrefix('s');
    const root = path.join(dir, 'root-s');
    const r = await atp('vm', 'clone', `${template}@loop`, '--count', '2', '--prefix', prefix, '--dir', root, '--json');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { host: string; clones: { name: string; uuid: string }[] };
    expect(out.host).toBe('loop');
    for (const c of out.clones) expect(await client.lookup(c.name)).toMatchObject({ state: 'running', uuid: c.uuid });
    // The dirs and the state file were made through SSH, on the "remote" side (here the same machine).
    expect((await readdir(root)).sort()).toEqual([`${prefix}-1`, `${prefix}-2`, `${prefix}.clones.json`]);
    const gone = await atp('vm', 'unclone', prefix, '--host', 'loop', '--dir', root);
    expect(gone).toMatchObject({ code: 0, out: `removed ${prefix}-1\nremoved ${prefix}-2\n` });
    expect(await domainsOf(prefix)).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  }, 180_000);

  it('refuses a template with a writable disk there, before making anything', async () => {
    const prefix = newPrefix('x');
    const root = path.join(dir, 'root-x');
    const r = await atp('vm', 'clone', diskTemplate, '--host', 'loop', '--count', '2', '--prefix', prefix, '--dir', root);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`ATP_LIBVIRT_CLONE: template '${diskTemplate}': cannot clone on loop: it has writable disks (${path.join(dir, 'disk.img')}) and creating their overlays on a remote host is not supported`);
    expect(await domainsOf(prefix)).toEqual([]);
    expect(await exists(root)).toBe(false);
  }, 120_000);
});
