/**
 * N domains cloned from one template domain, and their removal. createClones
 * reads the template's persistent definition (`dumpxml --inactive
 * --security-info`, so graphics passwords survive), plans every clone first
 * (clone-xml.ts: nothing is made when one cannot be cloned, or a name is
 * taken), then clone by clone: its dir `rootDir/NAME`, its qcow2 overlays
 * (qemu-img through execFile), and `virsh create` (transient: gone once
 * destroyed) or `define` + `start`. A failure part-way removes everything it
 * made, the failing clone's pieces included, and throws
 * ATP_LIBVIRT_CLONE_FAILED naming the clone and the step.
 *
 * Files live on the machine libvirt runs on, behind CloneHost: this machine by
 * default (localCloneHost); a caller whose client runs virsh elsewhere passes a
 * CloneHost for that machine (the CLI's SSH one has no createOverlay, so a
 * template with writable disks is refused there before anything is made).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AtpError, isAtpError } from '@atp/protocol';
import type { LibvirtClient } from './client.js';
import { planClone, type CloneOverlay } from './clone-xml.js';
import type { DomainInfo } from './output-codec.js';

const run = promisify(execFile);

/** File operations on the machine where the clones run. */
export interface CloneHost {
  /** 'local' or a hosts.yaml host name, for messages. */
  readonly label: string;
  /** `mkdir -p`: the clone root dir. */
  ensureDir(dir: string): Promise<void>;
  /** `mkdir`: one clone's dir; fails if it exists (nothing of someone else's is reused or removed). */
  makeDir(dir: string): Promise<void>;
  /** `rm -rf`: a clone dir or a state file; nothing there is fine. */
  remove(target: string): Promise<void>;
  /** The file's text, or undefined if there is no such file. */
  readText(file: string): Promise<string | undefined>;
  /** Replaces the file's content (atomically where the host allows). */
  writeText(file: string, content: string): Promise<void>;
  /** `qemu-img create` of one overlay; absent where overlays cannot be made. */
  createOverlay?: (overlay: CloneOverlay) => Promise<void>;
}

/** This machine; `qemuImg` is the qemu-img binary (default from PATH). */
export function localCloneHost(options: { qemuImg?: string } = {}): CloneHost {
  return {
    label: 'local',
    ensureDir: async (dir) => void (await mkdir(dir, { recursive: true, mode: 0o755 })),
    makeDir: (dir) => mkdir(dir, { mode: 0o755 }),
    remove: (target) => rm(target, { recursive: true, force: true }),
    readText: (file) => readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e))),
    writeText: async (file, content) => {
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, content, { mode: 0o644 });
      await rename(tmp, file);
    },
    createOverlay: async (o) => {
      await run(options.qemuImg ?? 'qemu-img', ['create', '-q', '-f', 'qcow2', '-b', o.backing, '-F', o.backingFormat, o.path], { timeout: 120_000, env: { ...process.env, LC_ALL: 'C' } });
    },
  };
}

export interface CloneOptions {
  /** How many clones: 1…999. */
  count: number;
  /** Clones are named `${prefix}-1`, `${prefix}-2`, …: letters, digits, '.', '_', '-'. */
  prefix: string;
  /** Absolute; each clone's files go to `rootDir/NAME`. */
  rootDir: string;
  /** The clones' UUIDs, one per clone (default: libvirt generates them). */
  uuids?: readonly string[];
  /** 'transient' (default): `virsh create`, gone once destroyed; 'define': a persistent domain, defined and started. */
  start?: 'transient' | 'define';
  /** The number of the first clone (default 1): `${prefix}-${firstIndex}`, … */
  firstIndex?: number;
  /** Where the clone dirs and overlays are made (default this machine). */
  host?: CloneHost;
}

export interface CreatedClone {
  name: string;
  /** Lower case, as libvirt reports it. */
  uuid: string;
  dir: string;
  agentSocketPath?: string;
}

export const MAX_CLONES = 999;
export const CLONE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function badOption(field: string, why: string, value: unknown): never {
  throw new AtpError('ATP_SCHEMA_INVALID', `clone option ${field}: ${why} (got ${JSON.stringify(value)})`, { details: { field, value } });
}

function checkOptions(o: CloneOptions): void {
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > MAX_CLONES) badOption('count', `an integer from 1 to ${MAX_CLONES}`, o.count);
  if (!CLONE_PREFIX.test(o.prefix)) badOption('prefix', 'up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit', o.prefix);
  if (!path.posix.isAbsolute(o.rootDir)) badOption('rootDir', 'an absolute directory path', o.rootDir);
  if (o.uuids !== undefined && o.uuids.length !== o.count) badOption('uuids', `one UUID per clone (${o.count})`, o.uuids.length);
  if (o.start !== undefined && o.start !== 'transient' && o.start !== 'define') badOption('start', "'transient' or 'define'", o.start);
  if (o.firstIndex !== undefined && (!Number.isInteger(o.firstIndex) || o.firstIndex < 1)) badOption('firstIndex', 'a positive integer', o.firstIndex);
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Creates the clones; on a failure part-way removes what it made and throws ATP_LIBVIRT_CLONE_FAILED. */
export async function createClones(client: LibvirtClient, template: string, options: CloneOptions): Promise<CreatedClone[]> {
  checkOptions(options);
  const host = options.host ?? localCloneHost();
  const rootDir = path.posix.normalize(options.rootDir);
  const first = options.firstIndex ?? 1;
  const xml = await client.rawDomainXml(template, { inactive: true, securityInfo: true });
  const plans = Array.from({ length: options.count }, (_, i) => {
    const name = `${options.prefix}-${first + i}`;
    const dir = path.posix.join(rootDir, name);
    const uuid = options.uuids?.[i];
    return { name, dir, plan: planClone(xml, { name, dir, ...(uuid === undefined ? {} : { uuid }) }) };
  });
  const disks = plans[0]?.plan.overlays ?? [];
  if (disks.length > 0 && host.createOverlay === undefined) {
    const element = `<disk> ${disks.map((o) => o.backing).join(', ')}`;
    throw new AtpError('ATP_LIBVIRT_CLONE', `template '${template}': cannot clone on ${host.label}: it has writable disks (${disks.map((o) => o.backing).join(', ')}) and creating their overlays on a remote host is not supported; clone a diskless template there, or clone on the hypervisor itself`, {
      details: { template, element, host: host.label },
    });
  }
  const existing = new Set((await client.listDomains()).map((d) => d.name));
  const taken = plans.filter((p) => existing.has(p.name)).map((p) => p.name);
  if (taken.length > 0) {
    throw new AtpError('ATP_LIBVIRT_CLONE', `template '${template}': cannot clone: ${taken.length === 1 ? 'a domain' : 'domains'} named ${taken.join(', ')} already exist on ${host.label}; remove them (atp-host vm unclone ${options.prefix}) or pick another prefix`, {
      details: { template, taken, host: host.label },
    });
  }
  await host.ensureDir(rootDir);
  const made: { name: string; dir: string }[] = [];
  const created: CreatedClone[] = [];
  for (const { name, dir, plan } of plans) {
    let step = 'mkdir';
    try {
      await host.makeDir(dir);
      made.push({ name, dir });
      for (const overlay of plan.overlays) {
        step = `qemu-img create ${overlay.path}`;
        await host.createOverlay?.(overlay);
      }
      step = options.start === 'define' ? 'virsh define' : 'virsh create';
      if (options.start === 'define') {
        await client.define(plan.xml);
        step = 'virsh start';
        await client.start(name);
      } else {
        await client.create(plan.xml);
      }
      step = 'virsh dominfo';
      const info = await client.lookup(name);
      created.push({ name, uuid: info.uuid.toLowerCase(), dir, ...(plan.agentSocketPath === undefined ? {} : { agentSocketPath: plan.agentSocketPath }) });
    } catch (error) {
      // `made` holds this clone too once its dir exists: a domain of its name may exist as well (a define without a start).
      const left = await removeClones(client, made, { host }).then(
        () => '',
        (e: unknown) => `; removing them failed too: ${errorText(e)}`,
      );
      throw new AtpError('ATP_LIBVIRT_CLONE_FAILED', `cloning '${template}' on ${host.label}: ${name} failed at ${step}: ${errorText(error)}; removed the ${made.length} clone dir(s) and domain(s) made so far${left}`, {
        cause: error,
        details: { template, clone: name, step, removed: made.map((m) => m.name), host: host.label },
      });
    }
  }
  return created;
}

/** Destroys a domain if it runs and undefines it if it is persistent; no such domain is fine. */
async function removeDomain(client: LibvirtClient, name: string): Promise<void> {
  const gone = (e: unknown): boolean => isAtpError(e, 'ATP_LIBVIRT_DOMAIN_NOT_FOUND');
  let info: DomainInfo;
  try {
    info = await client.lookup(name);
  } catch (error) {
    if (gone(error)) return;
    throw error;
  }
  if (info.state !== 'shutoff') await client.destroy(name).catch((e: unknown) => (gone(e) || isAtpError(e, 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING') ? undefined : Promise.reject(e)));
  if (info.persistent) await client.undefine(name, { nvram: 'keep' }).catch((e: unknown) => (gone(e) ? undefined : Promise.reject(e)));
}

/** Destroys (and undefines, if defined) each clone and deletes its dir; idempotent. Throws ATP_LIBVIRT_CLONE_FAILED listing what could not be removed. */
export async function removeClones(client: LibvirtClient, clones: readonly { name: string; dir: string }[], options: { host?: CloneHost } = {}): Promise<void> {
  const host = options.host ?? localCloneHost();
  for (const c of clones) {
    if (!path.posix.isAbsolute(c.dir) || path.posix.normalize(c.dir) === '/') badOption('dir', `an absolute directory other than / (clone ${c.name})`, c.dir);
  }
  const failures: string[] = [];
  await Promise.all(
    clones.map(async (c) => {
      // The dir goes only once the domain is gone: QEMU may still hold its sockets and overlays.
      try {
        await removeDomain(client, c.name);
        await host.remove(c.dir);
      } catch (error) {
        failures.push(`${c.name}: ${errorText(error)}`);
      }
    }),
  );
  if (failures.length > 0) {
    throw new AtpError('ATP_LIBVIRT_CLONE_FAILED', `removing clones on ${host.label} failed for ${failures.join('; ')}`, { details: { failed: failures, host: host.label } });
  }
}
