/**
 * Support for the simulator's tests on a real libvirtd:
 * - `defineSimTemplate`: a template domain, defined and shut off, as the
 *   simulator's model. `boot: true` gives the lab guest (the lab image with our
 *   agent, direct kernel boot, as test/support/e2e-libvirt.ts defineLabDomain
 *   builds it) plus a SPICE and a VNC display, each with a password so QEMU
 *   runs them with password auth (buildDomainXml writes one display and no
 *   passwd, so those two are added to its text here); `boot: false` a bare
 *   SeaBIOS domain for tests that never start a clone. Holds the libvirt suite
 *   lock until `remove()`.
 * - `SimApi`: HTTP calls to a simulator with the admin token, every answer
 *   handed to an optional observer (the contract test checks each one).
 * - `vncLogin`: the RFB 3.8 VNC-authentication handshake, to prove that a
 *   password is the one the VNC server wants (DES through the openssl CLI's
 *   legacy provider; Node's OpenSSL has no DES).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildImage } from '../../src/lab/index.js';
import { defaultCacheDir } from '../../src/lab/paths.js';
import { defaultLabAgent } from '../../src/targets/lab-target.js';
import { md5Hex } from '../../src/vdi-sim/index.js';
import { buildDomainXml, VirshLibvirtClient } from '../../src/vm/libvirt/index.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from './libvirtd.js';

export interface SimTemplate {
  name: string;
  dir: string;
  /** A client on qemu:///system for the test's own checks (pool 2). */
  client: VirshLibvirtClient;
  remove(): Promise<void>;
}

export async function defineSimTemplate(options: { boot: boolean }): Promise<SimTemplate> {
  const release = await acquireLibvirtSuiteLock();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vsim-tpl-'));
  const name = testDomainName('atp-vsim-tpl');
  const client = new VirshLibvirtClient({ uri: SYSTEM_URI, pool: 2 });
  const remove = async (): Promise<void> => {
    await client.close().catch(() => undefined);
    await removeDomain(name);
    await rm(dir, { recursive: true, force: true });
    await release();
  };
  try {
    await ensureLibvirtd();
    if (!options.boot) {
      await client.define(buildDomainXml({ name }));
      return { name, dir, client, remove };
    }
    const agent = defaultLabAgent();
    if (agent === undefined) throw new Error('guest-agent/src/main.ts not found');
    const image = await buildImage({ cacheDir: defaultCacheDir(), agent: agent.agent, agentAliases: agent.aliases });
    const cmdline = ['console=ttyS0', 'quiet', 'panic=-1', 'rootfstype=ramfs', 'atp.token=vdi-sim-test', 'atp.agent=desk'].join(' ');
    const xml = buildDomainXml({
      name,
      memoryMiB: 384,
      boot: { kernel: image.kernel, initrd: image.initrd, cmdline },
      agentSocketPath: path.join(dir, 'agent.sock'),
      guestAgent: true,
      consoleLogPath: path.join(dir, 'console.log'),
      graphics: { type: 'spice', port: 'auto' },
    });
    const withPasswords = xml
      .replace("<graphics type='spice' ", "<graphics type='spice' passwd='tpl-spice' ")
      .replace('<video>', "<graphics type='vnc' port='-1' autoport='yes' passwd='tplvnc'><listen type='address' address='127.0.0.1'/></graphics>\n    <video>");
    if (!withPasswords.includes("passwd='tpl-spice'") || !withPasswords.includes("type='vnc'")) throw new Error(`buildDomainXml's output changed; cannot add the displays:\n${xml}`);
    await client.define(withPasswords);
    return { name, dir, client, remove };
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }
}

export interface SimAnswer<T> {
  http: number;
  /** The parsed body (an envelope unless a fault answered). */
  body: { status: number; msg?: string; data?: T };
  text: string;
}

export type AnswerObserver = (method: string, path: string, answer: SimAnswer<unknown>, requestBody: unknown) => void;

export class SimApi {
  token: string | undefined;
  constructor(
    readonly url: string,
    private readonly observe?: AnswerObserver,
  ) {}

  async login(username = 'admin', password = 'admin123'): Promise<string> {
    const answer = await this.call<{ token: string }>('POST', '/ocloud/v1/login', { username, password: md5Hex(password), client: '' }, null);
    if (answer.body.status !== 0 || answer.body.data?.token === undefined) throw new Error(`login failed: ${answer.text}`);
    this.token = answer.body.data.token;
    return this.token;
  }

  /** `token` null: send none; undefined: the logged-in one. */
  async call<T = unknown>(method: string, path: string, body?: unknown, token?: string | null): Promise<SimAnswer<T>> {
    const t = token === null ? undefined : (token ?? this.token);
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(t === undefined ? {} : { token: t }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: SimAnswer<T>['body'];
    try {
      parsed = JSON.parse(text) as SimAnswer<T>['body'];
    } catch {
      parsed = { status: Number.NaN };
    }
    const answer = { http: response.status, body: parsed, text };
    this.observe?.(method, path, answer, body);
    return answer;
  }

  /** The data of a status-0 answer; throws with the answer otherwise. */
  async data<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.call<T>(method, path, body);
    if (answer.http !== 200 || answer.body.status !== 0) throw new Error(`${method} ${path} → HTTP ${answer.http}: ${answer.text}`);
    return answer.body.data as T;
  }
}

/** A byte reader over a socket: `take(n)` resolves with the next n bytes. */
function reader(socket: net.Socket): (n: number) => Promise<Buffer> {
  let buffered = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  let ended: Error | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    waiting?.();
  });
  const stop = (error?: Error): void => {
    ended = error ?? new Error('the VNC server closed the connection');
    waiting?.();
  };
  socket.on('end', () => stop());
  socket.on('error', stop);
  return async (n) => {
    while (buffered.length < n) {
      if (ended) throw ended;
      await new Promise<void>((resolve) => (waiting = resolve));
    }
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
}

function desEncrypt(key: Buffer, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['enc', '-des-ecb', '-K', key.toString('hex'), '-nopad', '-provider', 'legacy', '-provider', 'default'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`openssl des-ecb exited ${code}: ${Buffer.concat(err).toString()}`))));
    child.stdin.end(data);
  });
}

/** VNC's DES key: the password's first 8 bytes, zero-padded, each byte's bits reversed. */
function vncKey(password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  return Buffer.from([...key].map((b) => parseInt(b.toString(2).padStart(8, '0').split('').reverse().join(''), 2)));
}

/** Whether the VNC server at host:port accepts `password` (RFB 3.8, security type 2). */
export async function vncLogin(host: string, port: number, password: string): Promise<boolean> {
  const socket = net.connect({ host, port });
  try {
    const take = reader(socket);
    const version = (await take(12)).toString('latin1');
    if (!version.startsWith('RFB ')) throw new Error(`not an RFB server: ${JSON.stringify(version)}`);
    socket.write('RFB 003.008\n');
    const count = (await take(1))[0] ?? 0;
    const types = [...(await take(count))];
    if (!types.includes(2)) throw new Error(`the VNC server does not offer VNC authentication (types ${types.join(', ')})`);
    socket.write(Buffer.from([2]));
    const challenge = await take(16);
    socket.write(await desEncrypt(vncKey(password), challenge));
    return (await take(4)).readUInt32BE(0) === 0;
  } finally {
    socket.destroy();
  }
}

/** The guest console of a clone (its serial log in the clone dir), for failure messages. */
export async function cloneConsole(cloneDir: string): Promise<string> {
  return (await readFile(path.join(cloneDir, 'console.log'), 'utf8').catch(() => '')).slice(-2000);
}
