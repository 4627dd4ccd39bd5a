/** What `atp-host vm clone|unclone` do (vm-clone.ts defines them and loads this file when one runs). */
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { locationOf } from './config-flag.js';
import { DEFAULT_CLONE_ROOT } from './defaults.js';
import type { CliIo } from './program.js';
import { openLibvirtHost, parseVmRef, type LibvirtHost } from '../targets/domains.js';
import { createClones, localCloneHost, recordClones, removeClones, unclonePrefix, type CloneHost } from '../vm/libvirt/index.js';
import type { RunOptions, SshConnectionManager } from '../vm/ssh/index.js';

export interface CloneFlags {
  count?: string;
  prefix?: string;
  dir?: string;
  host?: string;
  define?: boolean;
  json?: boolean;
  configDir?: string;
}

/** Files on an SSH host through its connection (remote commands, argv quoted; no local shell). */
function sshCloneHost(ssh: SshConnectionManager, host: string): CloneHost {
  const exec = (argv: string[], options: RunOptions = {}): ReturnType<SshConnectionManager['exec']> => ssh.exec(host, argv, { timeoutMs: 30_000, env: { LC_ALL: 'C' }, ...options });
  return {
    label: host,
    ensureDir: async (dir) => void (await exec(['mkdir', '-p', '--', dir])),
    makeDir: async (dir) => void (await exec(['mkdir', '--', dir])),
    remove: async (target) => void (await exec(['rm', '-rf', '--', target])),
    readText: async (file) => {
      const r = await exec(['cat', '--', file], { check: false });
      if (r.code === 0) return r.stdout;
      if (/No such file or directory/.test(r.stderr)) return undefined;
      throw new AtpError('ATP_SSH_EXEC', `remote cat ${file} on ${host} exited with status ${r.code ?? r.signal ?? '?'}: ${r.stderr.trim()}`, { details: { host, command: 'cat', stderr: r.stderr.trim() } });
    },
    writeText: async (file, content) => {
      await exec(['tee', '--', `${file}.tmp`], { stdin: content });
      await exec(['mv', '-f', '--', `${file}.tmp`, file]);
    },
  };
}

const cloneHostOf = (h: LibvirtHost): CloneHost => (h.ssh === undefined ? localCloneHost() : sshCloneHost(h.ssh, h.host.name));
/** --dir: relative to the working directory on this machine; a remote host needs an absolute one (createClones says so). */
const rootDirOf = (h: LibvirtHost, dir: string | undefined): string => (dir === undefined ? DEFAULT_CLONE_ROOT : h.ssh === undefined ? path.resolve(dir) : dir);

function positiveInt(flag: string, text: string | undefined): number {
  if (text === undefined || !/^[1-9][0-9]*$/.test(text)) throw new AtpError('ATP_SCHEMA_INVALID', `${flag} expects a positive integer, got ${JSON.stringify(text ?? '')}`, { details: { field: flag, value: text } });
  return Number(text);
}

/** TEMPLATE or TEMPLATE@HOST combined with --host. */
function templateRef(template: string, flags: CloneFlags): { domain: string; host: string | undefined } {
  const ref = parseVmRef(template);
  if (flags.host !== undefined && ref.host !== undefined && ref.host !== flags.host) {
    throw new AtpError('ATP_SCHEMA_INVALID', `${template} names host '${ref.host}' but --host says '${flags.host}'`, { details: { field: 'host', value: flags.host } });
  }
  return { domain: ref.domain, host: flags.host ?? ref.host };
}

export async function cloneVms(template: string, flags: CloneFlags, io: CliIo): Promise<void> {
  const count = positiveInt('--count', flags.count);
  const ref = templateRef(template, flags);
  const prefix = flags.prefix ?? ref.domain;
  const h = await openLibvirtHost(ref.host, locationOf(flags));
  try {
    const rootDir = rootDirOf(h, flags.dir);
    const host = cloneHostOf(h);
    const clones = await createClones(h.client, ref.domain, { count, prefix, rootDir, host, start: flags.define === true ? 'define' : 'transient' });
    const stateFile = await recordClones(host, { template: ref.domain, prefix, rootDir, clones }).catch(async (error: unknown) => {
      await removeClones(h.client, clones, { host }).catch(() => undefined);
      throw error;
    });
    if (flags.json === true) return io.out(`${JSON.stringify({ host: h.host.name, template: ref.domain, prefix, rootDir, stateFile, persistent: flags.define === true, clones })}\n`);
    const width = Math.max(4, ...clones.map((c) => c.name.length));
    io.out(`${'NAME'.padEnd(width)}  ${'UUID'.padEnd(36)}  DIR\n`);
    for (const c of clones) io.out(`${c.name.padEnd(width)}  ${c.uuid.padEnd(36)}  ${c.dir}\n`);
    io.err(`vm clone: ${clones.length} clone(s) of ${ref.domain} on ${h.host.name}, recorded in ${stateFile} (remove them with: atp-host vm unclone ${prefix}${ref.host === undefined ? '' : ` --host ${ref.host}`}${flags.dir === undefined ? '' : ` --dir ${rootDir}`})\n`);
  } finally {
    await h.close();
  }
}

export async function uncloneVms(prefix: string, flags: CloneFlags, io: CliIo): Promise<void> {
  const h = await openLibvirtHost(flags.host, locationOf(flags));
  try {
    const r = await unclonePrefix(h.client, prefix, { rootDir: rootDirOf(h, flags.dir), host: cloneHostOf(h) });
    if (flags.json === true) return io.out(`${JSON.stringify({ host: h.host.name, prefix, ...r })}\n`);
    if (r.removed.length === 0) io.out(`no clones named ${prefix}-<n> on ${h.host.name}\n`);
    for (const name of r.removed) io.out(`removed ${name}\n`);
  } finally {
    await h.close();
  }
}
