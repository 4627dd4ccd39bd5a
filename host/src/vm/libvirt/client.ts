/**
 * LibvirtClient: what ATP needs from libvirt, behind an interface, and its
 * virsh-backed implementation (a Node binding lacks monitor, agent, send-key
 * and events; see ARCHITECTURE.md). Commands go through one VirshRunner
 * (long-lived interactive virsh by default, serialised; with `pool: K` a
 * VirshPool of up to K of them, so calls for many domains run side by side);
 * events come from a separate `virsh event --loop` process per stream.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { describeDomain, type DomainDescription } from './domain-xml.js';
import { parseDomainGraphics, type DomainGraphicsInfo } from './graphics-xml.js';
import { LibvirtEventStream } from './events.js';
import { virshQgaExecutor, virshQmpExecutor } from './executors.js';
import { parseDomainList, parseDominfo, parseDomstate, type DomainInfo, type DomainState, type DomainSummary } from './output-codec.js';
import { createVirshRunner, type VirshRunnerOptions } from './virsh-auto.js';
import type { VirshRunner } from './virsh-runner.js';
import type { QmpExecutor } from '../qmp/executor.js';
import type { QgaExecutor } from '../qga/executor.js';

export interface CallOptions {
  timeoutMs?: number;
}

export type ShutdownMode = 'acpi' | 'agent';

export interface DomainXmlOptions extends CallOptions {
  /** `--inactive`: the persistent definition (what the next start uses), not the running domain's XML. */
  inactive?: boolean;
  /** `--security-info`: include graphics passwords and other secrets (needs a read-write connection). */
  securityInfo?: boolean;
}

export interface GraphicsOptions extends CallOptions {
  /** Read with `--security-info` so passwords are included (default true; needs a read-write connection). */
  securityInfo?: boolean;
}

export interface UndefineOptions extends CallOptions {
  /** A UEFI domain's NVRAM file: 'remove' it (`--nvram`) or 'keep' it (`--keep-nvram`); default: libvirt's (refuses a domain that has one). */
  nvram?: 'remove' | 'keep';
}

/** virsh send-key code sets (virsh help send-key). */
export const KEY_CODESETS = ['linux', 'xt', 'atset1', 'atset2', 'atset3', 'os_x', 'xt_kbd', 'win32', 'usb', 'qnum', 'rfb'] as const;
export type KeyCodeset = (typeof KEY_CODESETS)[number];

export interface SendKeysOptions extends CallOptions {
  /** Code set of `keys` (default 'linux': KEY_A or 30). */
  codeset?: KeyCodeset;
  /** How long the keys are held, in ms (libvirt's default otherwise). */
  holdTimeMs?: number;
}

export interface LibvirtClient {
  readonly uri: string;
  listDomains(options?: CallOptions): Promise<DomainSummary[]>;
  /** `dominfo`; rejects ATP_LIBVIRT_DOMAIN_NOT_FOUND naming the domain. */
  lookup(domain: string, options?: CallOptions): Promise<DomainInfo>;
  state(domain: string, options?: CallOptions): Promise<DomainState>;
  /** `dumpxml` read into channels, graphics and inputs. */
  domainXml(domain: string, options?: CallOptions): Promise<DomainDescription>;
  /** `dumpxml` as text; `inactive` / `securityInfo` add `--inactive` / `--security-info`. */
  rawDomainXml(domain: string, options?: DomainXmlOptions): Promise<string>;
  /** The running domain's display servers (graphics-xml.ts), with passwords unless securityInfo is false; `securityInfo` says how it was read. */
  domainGraphics(domain: string, options?: GraphicsOptions): Promise<DomainGraphicsInfo & { securityInfo: boolean }>;
  /** `define` from XML text (persistent, not started). */
  define(xml: string, options?: CallOptions): Promise<void>;
  /** `create` from XML text: a transient domain, started now and gone (not just shut off) once destroyed. */
  create(xml: string, options?: CallOptions): Promise<void>;
  undefine(domain: string, options?: UndefineOptions): Promise<void>;
  start(domain: string, options?: CallOptions): Promise<void>;
  shutdown(domain: string, mode?: ShutdownMode, options?: CallOptions): Promise<void>;
  reboot(domain: string, mode?: ShutdownMode, options?: CallOptions): Promise<void>;
  destroy(domain: string, options?: CallOptions): Promise<void>;
  reset(domain: string, options?: CallOptions): Promise<void>;
  suspend(domain: string, options?: CallOptions): Promise<void>;
  resume(domain: string, options?: CallOptions): Promise<void>;
  /** `send-key`: presses the keys together, holds, releases. */
  sendKey(domain: string, keys: readonly (string | number)[], options?: SendKeysOptions): Promise<void>;
  qmpExecutor(domain: string): QmpExecutor;
  qgaExecutor(domain: string): QgaExecutor;
  /** A new stream of domain events (all domains, or one); close it with `return()`/`close()`. */
  events(options?: { domain?: string }): LibvirtEventStream;
  close(): Promise<void>;
}

/** A file virsh can read by path: on this machine by default, on the remote host for an SSH virsh. */
export interface StagedFile {
  path: string;
  remove(): Promise<void>;
}
export type FileStager = (name: string, content: string) => Promise<StagedFile>;

export type VirshLibvirtClientOptions = Partial<VirshRunnerOptions> & {
  /** Where `define` and `create` put the XML for virsh to read (default: a private temp dir here). */
  stageFile?: FileStager;
  /** A ready runner (e.g. one counted by an SSH connection manager) instead of createVirshRunner(options). */
  runner?: VirshRunner;
};

/** The default stager: a private temp dir on this machine. */
export const stageLocalFile: FileStager = async (name, content) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-define-'));
  const file = path.join(dir, name);
  await writeFile(file, content, { mode: 0o600 });
  return { path: file, remove: () => rm(dir, { recursive: true, force: true }) };
};

const KEY = /^[A-Za-z0-9_]+$/;

export class VirshLibvirtClient implements LibvirtClient {
  readonly uri: string;
  readonly runner: VirshRunner;
  private readonly streams = new Set<LibvirtEventStream>();

  constructor(private readonly options: VirshLibvirtClientOptions = {}) {
    this.uri = options.uri ?? 'qemu:///system';
    this.runner = options.runner ?? createVirshRunner({ ...options, uri: this.uri });
  }

  private run(argv: string[], domain: string | undefined, options: CallOptions | undefined): Promise<string> {
    return this.runner.run(argv, { ...(domain === undefined ? {} : { domain }), ...(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
  }

  private async onDomain(verb: string, domain: string, extra: string[], options: CallOptions | undefined): Promise<string> {
    return this.run([verb, '--domain', domain, ...extra], domain, options);
  }

  async listDomains(options?: CallOptions): Promise<DomainSummary[]> {
    return parseDomainList(await this.run(['list', '--all'], undefined, options));
  }

  async lookup(domain: string, options?: CallOptions): Promise<DomainInfo> {
    return parseDominfo(await this.onDomain('dominfo', domain, [], options));
  }

  async state(domain: string, options?: CallOptions): Promise<DomainState> {
    return parseDomstate(await this.onDomain('domstate', domain, [], options));
  }

  rawDomainXml(domain: string, options?: DomainXmlOptions): Promise<string> {
    const extra = [...(options?.inactive === true ? ['--inactive'] : []), ...(options?.securityInfo === true ? ['--security-info'] : [])];
    return this.onDomain('dumpxml', domain, extra, options);
  }

  async domainXml(domain: string, options?: CallOptions): Promise<DomainDescription> {
    return describeDomain(await this.rawDomainXml(domain, options));
  }

  async domainGraphics(domain: string, options: GraphicsOptions = {}): Promise<DomainGraphicsInfo & { securityInfo: boolean }> {
    const securityInfo = options.securityInfo ?? true;
    return { ...parseDomainGraphics(await this.rawDomainXml(domain, { ...options, securityInfo })), securityInfo };
  }

  async define(xml: string, options?: CallOptions): Promise<void> {
    await this.fromXml('define', xml, options);
  }

  async create(xml: string, options?: CallOptions): Promise<void> {
    await this.fromXml('create', xml, options);
  }

  private async fromXml(verb: 'define' | 'create', xml: string, options: CallOptions | undefined): Promise<void> {
    // virsh reads the definition from a file on the machine where virsh runs (also for remote URIs).
    const staged = await (this.options.stageFile ?? stageLocalFile)('domain.xml', xml);
    try {
      await this.run([verb, '--file', staged.path], undefined, options);
    } finally {
      await staged.remove();
    }
  }

  async undefine(domain: string, options?: UndefineOptions): Promise<void> {
    const extra = options?.nvram === 'remove' ? ['--nvram'] : options?.nvram === 'keep' ? ['--keep-nvram'] : [];
    await this.onDomain('undefine', domain, extra, options);
  }

  async start(domain: string, options?: CallOptions): Promise<void> {
    await this.onDomain('start', domain, [], options);
  }

  async shutdown(domain: string, mode: ShutdownMode = 'acpi', options?: CallOptions): Promise<void> {
    await this.onDomain('shutdown', domain, ['--mode', mode], options);
  }

  async reboot(domain: string, mode: ShutdownMode = 'acpi', options?: CallOptions): Promise<void> {
    await this.onDomain('reboot', domain, ['--mode', mode], options);
  }

  async destroy(domain: string, options?: CallOptions): Promise<void> {
    await this.onDomain('destroy', domain, [], options);
  }

  async reset(domain: string, options?: CallOptions): Promise<void> {
    await this.onDomain('reset', domain, [], options);
  }

  async suspend(domain: string, options?: CallOptions): Promise<void> {
    await this.onDomain('suspend', domain, [], options);
  }

  async resume(domain: string, options?: CallOptions): Promise<void> {
    await this.onDomain('resume', domain, [], options);
  }

  async sendKey(domain: string, keys: readonly (string | number)[], options: SendKeysOptions = {}): Promise<void> {
    const bad = keys.find((k) => (typeof k === 'number' ? !Number.isInteger(k) || k < 0 : !KEY.test(k)));
    if (keys.length === 0 || bad !== undefined) {
      throw new AtpError('ATP_LIBVIRT_ARGUMENT', `send-key needs key names or non-negative key codes (got ${JSON.stringify(bad ?? keys)})`, { details: { domain } });
    }
    const extra = ['--codeset', options.codeset ?? 'linux'];
    if (options.holdTimeMs !== undefined) {
      if (!Number.isInteger(options.holdTimeMs) || options.holdTimeMs < 0) throw new AtpError('ATP_LIBVIRT_ARGUMENT', `send-key holdTimeMs must be a non-negative integer`, { details: { domain } });
      extra.push('--holdtime', String(options.holdTimeMs));
    }
    await this.onDomain('send-key', domain, [...extra, '--keycode', ...keys.map(String)], options);
  }

  qmpExecutor(domain: string): QmpExecutor {
    return virshQmpExecutor(this.runner, domain);
  }

  qgaExecutor(domain: string): QgaExecutor {
    return virshQgaExecutor(this.runner, domain);
  }

  events(options: { domain?: string } = {}): LibvirtEventStream {
    const stream = new LibvirtEventStream({ uri: this.uri, ...(this.options.binary === undefined ? {} : { binary: this.options.binary }), ...(this.options.spawner === undefined ? {} : { spawner: this.options.spawner }), ...options });
    this.streams.add(stream);
    return stream;
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.close();
    this.streams.clear();
    await this.runner.close();
  }
}
