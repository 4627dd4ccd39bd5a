/**
 * Reads and writes hosts.yaml. Reading: a missing file is an empty config; bad
 * YAML → ATP_CONFIG_YAML (file:line:col); a schema problem → ATP_SCHEMA_INVALID
 * naming the file, each field's path and its line:col. Writing edits the YAML
 * document (comments survive) and replaces the file atomically (temp file in
 * the same directory, mode 0600, rename).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Document, isCollection, isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { AtpError, parseWith, schemaError, type ValidationIssue } from '@atp/protocol';
import { DEFAULT_LIBVIRT_URI, DEFAULT_SSH_PORT, hostSchema, hostsFileSchema, type HostConfig } from './hosts-schema.js';
import { configDir, expandPath, home, type ConfigLocation } from './paths.js';

export interface LoadedHosts {
  file: string;
  exists: boolean;
  hosts: Record<string, HostConfig>;
}

/** An ssh host with every default applied and every path absolute. */
export interface EffectiveSshHost {
  name: string;
  kind: 'ssh';
  host: string;
  port: number;
  user: string;
  identityFile: string | undefined;
  agent: boolean;
  knownHostsFile: string;
  libvirtUri: string;
  maxConcurrency: number | undefined;
  connectTimeoutMs: number | undefined;
}

export interface EffectiveLocalHost {
  name: string;
  kind: 'local';
  libvirtUri: string;
  maxConcurrency: number | undefined;
}

export type EffectiveHost = EffectiveSshHost | EffectiveLocalHost;

const readError = (file: string, cause: unknown): AtpError =>
  new AtpError('ATP_CONFIG_READ', `${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { file } });

async function readDocument(file: string): Promise<{ doc: Document; lines: LineCounter; exists: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { doc: new Document({ hosts: {} }), lines: new LineCounter(), exists: false };
    throw readError(file, cause);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const bad = doc.errors[0];
  if (bad) {
    const at = lines.linePos(bad.pos[0]);
    throw new AtpError('ATP_CONFIG_YAML', `${file}:${at.line}:${at.col}: ${bad.message.split('\n')[0] ?? bad.message}`, { details: { file, line: at.line, column: at.col } });
  }
  return { doc, lines, exists: true };
}

/** line:col of the deepest node along `issuePath` that exists (of the key itself for an unknown field). */
function locate(doc: Document, lines: LineCounter, issuePath: readonly (string | number)[], atKey: boolean): { line: number; column: number } | undefined {
  const parent: unknown = issuePath.length === 0 ? undefined : doc.getIn(issuePath.slice(0, -1), true);
  if (atKey && isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(issuePath[issuePath.length - 1]));
    const range = isScalar(pair?.key) ? pair.key.range : undefined;
    if (range) {
      const at = lines.linePos(range[0]);
      return { line: at.line, column: at.col };
    }
  }
  for (let n = issuePath.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(issuePath.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) {
      const at = lines.linePos(range[0]);
      return { line: at.line, column: at.col };
    }
  }
  return undefined;
}

function validate(doc: Document, lines: LineCounter, file: string): LoadedHosts['hosts'] {
  try {
    return parseWith(hostsFileSchema, doc.toJS() ?? {}, { source: file, what: 'hosts config' }).hosts;
  } catch (error) {
    if (!(error instanceof AtpError) || !Array.isArray(error.details.issues)) throw error;
    const issues = (error.details.issues as ValidationIssue[]).map((i) => {
      const at = locate(doc, lines, i.path, i.code === 'unrecognized_keys');
      return at ? { ...i, pathText: `${at.line}:${at.column}: ${i.pathText}`, line: at.line, column: at.column } : i;
    });
    throw schemaError(issues, { source: file, what: 'hosts config' });
  }
}

export async function loadHosts(location: ConfigLocation = {}): Promise<LoadedHosts> {
  const file = path.join(configDir(location), 'hosts.yaml');
  const { doc, lines, exists } = await readDocument(file);
  return { file, exists, hosts: validate(doc, lines, file) };
}

/** A host by name with defaults applied, or ATP_CONFIG_HOST_UNKNOWN. */
export function effectiveHost(loaded: LoadedHosts, name: string, env: NodeJS.ProcessEnv = process.env): EffectiveHost {
  const h = loaded.hosts[name];
  if (h === undefined) {
    const known = Object.keys(loaded.hosts);
    throw new AtpError('ATP_CONFIG_HOST_UNKNOWN', `${loaded.file}: no host named '${name}' (known: ${known.length > 0 ? known.join(', ') : 'none'})`, { details: { file: loaded.file, host: name } });
  }
  const base = { name, libvirtUri: h.libvirtUri ?? DEFAULT_LIBVIRT_URI, maxConcurrency: h.maxConcurrency };
  if (h.kind === 'local') return { ...base, kind: 'local' };
  const dir = path.dirname(loaded.file);
  return {
    ...base,
    kind: 'ssh',
    host: h.host,
    port: h.port ?? DEFAULT_SSH_PORT,
    user: h.user,
    identityFile: h.identityFile === undefined ? undefined : expandPath(h.identityFile, dir, env),
    agent: h.agent === true,
    knownHostsFile: h.knownHostsFile === undefined ? path.join(home(env), '.ssh', 'known_hosts') : expandPath(h.knownHostsFile, dir, env),
    connectTimeoutMs: h.connectTimeoutMs,
  };
}

export const DEFAULT_HOSTS_YAML = `# ATP hosts: the hypervisors atp-host reaches (atp-host host add|list|remove|check).
# Each entry is \`kind: local\` (this machine) or \`kind: ssh\`:
#
#   hv1:
#     kind: ssh
#     host: hv1.example.com            # name or address
#     port: 22
#     user: root
#     identityFile: ~/.ssh/id_ed25519  # or: agent: true (keys from SSH_AUTH_SOCK)
#     knownHostsFile: ~/.ssh/known_hosts  # host keys are checked strictly against it
#     libvirtUri: qemu:///system       # the URI virsh uses on that host
#     maxConcurrency: 8                # SSH channels and calls at once on that host
#     connectTimeoutMs: 10000
#
# A host key is recorded only by \`atp-host host add NAME --ssh ... --accept-new-host-key\`.
version: 1
hosts:
  local:
    kind: local
`;

/** Replaces `file` atomically with `text`, mode 0600 (the directory is created 0700). */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw readError(file, cause);
  }
}

/** Writes the commented default hosts.yaml unless the file exists; resolves with whether it wrote. */
export async function initHostsFile(location: ConfigLocation = {}): Promise<{ file: string; created: boolean }> {
  const file = path.join(configDir(location), 'hosts.yaml');
  const { exists } = await readDocument(file);
  if (exists) return { file, created: false };
  await writeFileAtomic(file, DEFAULT_HOSTS_YAML);
  return { file, created: true };
}

async function edit(location: ConfigLocation, change: (doc: Document, hosts: LoadedHosts) => void): Promise<LoadedHosts> {
  const file = path.join(configDir(location), 'hosts.yaml');
  const read = await readDocument(file);
  const doc = read.exists ? read.doc : parseDocument(DEFAULT_HOSTS_YAML);
  const loaded = { file, exists: true, hosts: validate(doc, read.lines, file) };
  if (!isCollection(doc.get('hosts', true))) doc.set('hosts', doc.createNode({}));
  change(doc, loaded);
  const after = validate(doc, new LineCounter(), file);
  await writeFileAtomic(file, doc.toString());
  return { file, exists: true, hosts: after };
}

export function addHost(name: string, host: HostConfig, location: ConfigLocation = {}): Promise<LoadedHosts> {
  const checked = parseWith(hostSchema, host, { source: `host '${name}'` });
  return edit(location, (doc, loaded) => {
    if (loaded.hosts[name] !== undefined) throw new AtpError('ATP_CONFIG_HOST_EXISTS', `${loaded.file}: host '${name}' already exists (atp-host host remove ${name} first)`, { details: { file: loaded.file, host: name } });
    doc.setIn(['hosts', name], doc.createNode(checked));
  });
}

export function removeHost(name: string, location: ConfigLocation = {}): Promise<LoadedHosts> {
  return edit(location, (doc, loaded) => {
    effectiveHost(loaded, name); // throws ATP_CONFIG_HOST_UNKNOWN
    doc.deleteIn(['hosts', name]);
  });
}
