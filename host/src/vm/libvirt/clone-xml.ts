/**
 * planClone: one clone's domain XML from a template's inactive definition
 * (`virsh dumpxml --inactive --security-info`). Pure: the template is read with
 * xml-codec's parser, the element tree is rewritten and written back out;
 * making dirs and overlays and calling virsh is clone.ts's job. The rewrite:
 *
 * - `<name>` is the clone's; `<uuid>` is the given one or none (libvirt makes
 *   one), and so is a `<sysinfo>` system uuid entry (libvirt refuses one that
 *   differs from `<uuid>`); `<genid>` is emptied (a new VM generation id);
 *   `<interface>`s lose `<mac>` and their tap name (libvirt assigns both).
 * - Host-side files move into spec.dir under their base names (made distinct,
 *   and one template path maps to one new path, so a `<console>` mirroring its
 *   `<serial>` keeps doing so): unix sockets and files of serial, console,
 *   channel, parallel, redirdev, smartcard and rng chardevs, their `<log file>`,
 *   a graphics socket listen, the UEFI `<nvram>` (libvirt creates it anew from
 *   its template). Connect-mode sockets move too: whoever listens for a clone
 *   listens in its dir.
 * - `<graphics>` with a port gets autoport; listen addresses and passwd stay.
 * - A writable file `<disk>` becomes a qcow2 overlay in spec.dir backed by the
 *   template's file (listed in `overlays`; its `<backingStore>` goes, libvirt
 *   reads the chain from the overlay); readonly/shareable disks, cdroms and
 *   floppies stay shared.
 * - Refused with ATP_LIBVIRT_CLONE naming the template and the element: what
 *   every clone would share or fight over (a writable disk that is not a file,
 *   a `<hostdev>`, a TPM or chardev passed through from a host device, a
 *   chardev binding a fixed TCP/UDP port, a pipe, a vhost-user or unmanaged-tap
 *   interface) and a socket path longer than a unix socket address allows.
 */
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { ATP_AGENT_CHANNEL } from './domain-xml.js';
import { child, childrenNamed, escapeXml, parseXml, type XmlElement } from './xml-codec.js';

export interface CloneSpec {
  /** The clone's domain name. */
  name: string;
  /** Its `<uuid>`; omitted = none in the XML (libvirt generates one). */
  uuid?: string;
  /** Absolute directory for this clone's own files (chardev sockets and logs, disk overlays, NVRAM). */
  dir: string;
}

/** A qcow2 overlay to create (`qemu-img create -f qcow2 -b backing -F backingFormat path`) before the domain starts. */
export interface CloneOverlay {
  path: string;
  backing: string;
  backingFormat: string;
}

export interface ClonePlan {
  xml: string;
  overlays: CloneOverlay[];
  /** The org.atp.agent.0 channel's socket, if the template has a unix one. */
  agentSocketPath?: string;
}

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME_OK = /^[^/\s][^/\p{Cc}]*$/u;
const FORMAT = /^[a-z0-9][a-z0-9_-]*$/;
const CHARDEVS = new Set(['serial', 'parallel', 'console', 'channel', 'redirdev', 'smartcard']);
const SHARED_DEVICES = new Set(['cdrom', 'floppy']);

/** Where the rewrite is: the template's name for messages, the clone dir and its file names so far. */
class Rewrite {
  private readonly moved = new Map<string, string>();
  private readonly names = new Set<string>();
  readonly overlays: CloneOverlay[] = [];
  constructor(
    readonly template: string,
    readonly dir: string,
  ) {}

  refuse(element: string, reason: string): never {
    throw new AtpError('ATP_LIBVIRT_CLONE', `template '${this.template}': cannot clone ${element}: ${reason}`, { details: { template: this.template, element, reason } });
  }

  /** A new file name in the clone dir: `base`, else `stem-2.ext`, `stem-3.ext`, … */
  private allocate(base: string): string {
    const ext = path.posix.extname(base);
    const stem = base.slice(0, base.length - ext.length) || 'file';
    let name = base;
    for (let n = 2; this.names.has(name); n++) name = `${stem}-${n}${ext}`;
    this.names.add(name);
    return path.posix.join(this.dir, name);
  }

  /** The clone's path for a template path (the same one each time it is asked). */
  move(old: string, element: string, socket: boolean): string {
    let moved = this.moved.get(old);
    if (moved === undefined) {
      moved = this.allocate(path.posix.basename(old) || 'file');
      this.moved.set(old, moved);
    }
    if (socket && Buffer.byteLength(moved) > MAX_SOCKET_PATH_BYTES) {
      this.refuse(element, `the clone's socket path ${moved} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a unix socket address); use a shorter clone dir`);
    }
    return moved;
  }

  overlay(backing: string, format: string, element: string): string {
    if (!path.posix.isAbsolute(backing)) this.refuse(element, `its source file ${JSON.stringify(backing)} is not an absolute path`);
    if (!FORMAT.test(format)) this.refuse(element, `its driver type ${JSON.stringify(format)} is not an image format qemu-img knows`);
    const stem = path.posix.basename(backing).replace(/\.[^.]*$/, '') || 'disk';
    const overlay = this.allocate(`${stem}.qcow2`);
    this.overlays.push({ path: overlay, backing, backingFormat: format });
    return overlay;
  }
}

function bad(field: keyof CloneSpec, why: string, value: unknown): never {
  throw new AtpError('ATP_SCHEMA_INVALID', `clone spec ${field}: ${why} (got ${JSON.stringify(value)})`, { details: { field, value } });
}

const remove = (el: XmlElement, name: string): void => void (el.children = el.children.filter((c) => c.name !== name));
const describe = (el: XmlElement, extra = ''): string => `<${el.name}${el.attrs.type === undefined ? '' : ` type='${el.attrs.type}'`}${el.attrs.device === undefined ? '' : ` device='${el.attrs.device}'`}>${extra}`;

function planDisk(disk: XmlElement, r: Rewrite): void {
  const device = disk.attrs.device ?? 'disk';
  const type = disk.attrs.type ?? 'file';
  if (SHARED_DEVICES.has(device) || child(disk, 'readonly') !== undefined || child(disk, 'shareable') !== undefined) return;
  const source = child(disk, 'source');
  const from = source?.attrs.file ?? source?.attrs.dev ?? source?.attrs.name ?? source?.attrs.volume ?? source?.attrs.dir;
  const what = describe(disk, ` (target ${child(disk, 'target')?.attrs.dev ?? '?'}${from === undefined ? '' : `, source ${from}`})`);
  if (type !== 'file' || device !== 'disk') {
    r.refuse(what, `a writable ${type} ${device} would be written by every clone at once; make it <readonly/> or <shareable/>, or give the template a file-backed disk`);
  }
  const file = source?.attrs.file;
  if (source === undefined || file === undefined) r.refuse(what, 'a writable disk without a source file');
  let driver = child(disk, 'driver');
  if (driver === undefined) {
    driver = { name: 'driver', attrs: { name: 'qemu' }, children: [], text: '' };
    disk.children.unshift(driver);
  }
  source.attrs.file = r.overlay(file, driver.attrs.type ?? 'raw', what);
  driver.attrs.type = 'qcow2';
  remove(disk, 'backingStore');
}

function planChardev(dev: XmlElement, r: Rewrite): void {
  const type = dev.attrs.type;
  const name = child(dev, 'target')?.attrs.name;
  const what = describe(dev, name === undefined ? '' : ` (${name})`);
  const sources = childrenNamed(dev, 'source');
  if (type === 'pipe' || type === 'dev') r.refuse(what, `a ${type} chardev (${sources[0]?.attrs.path ?? '?'}) would be one host ${type === 'dev' ? 'device' : 'pipe'} for every clone`);
  if (type === 'tcp' || type === 'udp') {
    const bind = sources.find((s) => s.attrs.mode === 'bind' && s.attrs.service !== undefined && s.attrs.service !== '0');
    if (bind) r.refuse(what, `every clone would listen on ${type} port ${bind.attrs.service ?? ''}`);
  }
  if (type === 'unix' || type === 'file') {
    for (const s of sources) if (s.attrs.path !== undefined) s.attrs.path = r.move(s.attrs.path, what, type === 'unix');
  }
  for (const log of childrenNamed(dev, 'log')) if (log.attrs.file !== undefined) log.attrs.file = r.move(log.attrs.file, `${what} <log>`, false);
}

function planGraphics(g: XmlElement, r: Rewrite): void {
  const what = describe(g);
  if (g.attrs.port !== undefined || g.attrs.tlsPort !== undefined || g.attrs.autoport === 'yes') {
    delete g.attrs.port;
    delete g.attrs.tlsPort;
    g.attrs.autoport = 'yes';
  }
  if (g.attrs.websocket !== undefined && g.attrs.websocket !== '-1') g.attrs.websocket = '-1';
  if (g.attrs.socket !== undefined) g.attrs.socket = r.move(g.attrs.socket, what, true);
  for (const l of childrenNamed(g, 'listen')) if (l.attrs.type === 'socket' && l.attrs.socket !== undefined) l.attrs.socket = r.move(l.attrs.socket, what, true);
}

function planInterface(nic: XmlElement, r: Rewrite): void {
  const what = describe(nic);
  if (nic.attrs.type === 'vhostuser' || nic.attrs.type === 'hostdev') r.refuse(what, `a ${nic.attrs.type} interface belongs to one VM`);
  if (childrenNamed(nic, 'target').some((t) => t.attrs.managed === 'no')) r.refuse(what, 'an unmanaged tap device would be shared by every clone');
  remove(nic, 'mac');
  remove(nic, 'target');
}

function planDevices(devices: XmlElement | undefined, r: Rewrite): void {
  for (const dev of devices?.children ?? []) {
    if (CHARDEVS.has(dev.name)) planChardev(dev, r);
    else if (dev.name === 'disk') planDisk(dev, r);
    else if (dev.name === 'graphics') planGraphics(dev, r);
    else if (dev.name === 'interface') planInterface(dev, r);
    else if (dev.name === 'hostdev') r.refuse(describe(dev), 'a host device can be given to one VM only');
    else if (dev.name === 'rng') {
      for (const b of childrenNamed(dev, 'backend')) if (b.attrs.model === 'egd') planChardev(b, r);
    } else if (dev.name === 'tpm' && childrenNamed(dev, 'backend').some((b) => b.attrs.type === 'passthrough')) {
      r.refuse(describe(dev), 'a passed-through host TPM can be given to one VM only');
    }
  }
}

function planIdentity(root: XmlElement, spec: CloneSpec): void {
  const nameEl = child(root, 'name');
  if (nameEl) nameEl.text = spec.name;
  delete root.attrs.id;
  remove(root, 'uuid');
  if (spec.uuid !== undefined) root.children.splice(nameEl ? root.children.indexOf(nameEl) + 1 : 0, 0, { name: 'uuid', attrs: {}, children: [], text: spec.uuid });
  const genid = child(root, 'genid');
  if (genid) genid.text = '';
  for (const system of childrenNamed(root, 'sysinfo').flatMap((s) => childrenNamed(s, 'system'))) {
    for (const entry of childrenNamed(system, 'entry').filter((e) => e.attrs.name === 'uuid')) {
      if (spec.uuid === undefined) system.children = system.children.filter((c) => c !== entry);
      else entry.text = spec.uuid;
    }
  }
}

function planNvram(root: XmlElement, r: Rewrite): void {
  const nvram = child(child(root, 'os'), 'nvram');
  if (nvram === undefined) return;
  const source = child(nvram, 'source');
  if (nvram.text.trim() !== '') nvram.text = r.move(nvram.text.trim(), '<nvram>', false);
  else if (source?.attrs.file !== undefined) source.attrs.file = r.move(source.attrs.file, '<nvram>', false);
  else if (source !== undefined) r.refuse(describe(nvram), 'an NVRAM store that is not a file would be shared by every clone');
}

/** The XML text of an element tree, two-space indented, attributes single-quoted (as virsh prints them). */
export function writeXml(el: XmlElement, indent = ''): string {
  const attrs = Object.entries(el.attrs)
    .map(([k, v]) => ` ${k}='${escapeXml(v)}'`)
    .join('');
  if (el.children.length === 0) return el.text === '' ? `${indent}<${el.name}${attrs}/>` : `${indent}<${el.name}${attrs}>${escapeXml(el.text)}</${el.name}>`;
  const inner = indent + '  ';
  const text = el.text.trim() === '' ? [] : [`${inner}${escapeXml(el.text.trim())}`];
  return [`${indent}<${el.name}${attrs}>`, ...text, ...el.children.map((c) => writeXml(c, inner)), `${indent}</${el.name}>`].join('\n');
}

/** One clone's XML, overlays and agent socket from the template's XML. Throws ATP_SCHEMA_INVALID (spec), ATP_LIBVIRT_VIRSH (not a domain), ATP_LIBVIRT_CLONE (cannot clone). */
export function planClone(templateXml: string, spec: CloneSpec): ClonePlan {
  if (!NAME_OK.test(spec.name)) bad('name', 'a domain name: non-empty, without "/", control characters or a leading blank', spec.name);
  if (spec.uuid !== undefined && !UUID.test(spec.uuid)) bad('uuid', 'a UUID like 8-4-4-4-12 hex digits', spec.uuid);
  if (!path.posix.isAbsolute(spec.dir) || spec.dir.includes('\0')) bad('dir', 'an absolute directory path', spec.dir);
  const root = parseXml(templateXml);
  const template = child(root, 'name')?.text.trim();
  if (root.name !== 'domain' || !template) throw new AtpError('ATP_LIBVIRT_VIRSH', `a clone template must be a <domain> with a <name> (got <${root.name}>)`, { details: { root: root.name } });
  const r = new Rewrite(template, path.posix.normalize(spec.dir));
  planIdentity(root, spec);
  planNvram(root, r);
  const devices = child(root, 'devices');
  planDevices(devices, r);
  const agent = childrenNamed(devices, 'channel').find((c) => c.attrs.type === 'unix' && child(c, 'target')?.attrs.name === ATP_AGENT_CHANNEL);
  const agentSocketPath = child(agent, 'source')?.attrs.path;
  return { xml: `${writeXml(root)}\n`, overlays: r.overlays, ...(agentSocketPath === undefined ? {} : { agentSocketPath }) };
}
