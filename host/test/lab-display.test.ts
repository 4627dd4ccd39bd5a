/**
 * The lab VM with display servers, for real: one boot with SPICE on a TLS port
 * (generated CA) and VNC on a unix socket, both with passwords. QEMU's own
 * view over QMP (query-spice, query-vnc), the sockets, a TLS handshake that
 * trusts only the lab's CA, the passwords taken and refused by the project's
 * SPICE and VNC clients, and no password on QEMU's command line. Plus a TLS
 * port already in use (a typed error naming it, nothing left running) and the
 * plain unix-socket SPICE arguments on a bare QEMU.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { linkChannel } from '../src/display/spice/link.js';
import { connectVnc } from '../src/display/vnc/client.js';
import { displayQemuArgs } from '../src/lab/display-args.js';
import { labDisplayEndpoint } from '../src/lab/display.js';
import { defaultCacheDir } from '../src/lab/paths.js';
import { labDown, labUp, type LabUpOptions, type LabVm } from '../src/lab/vm.js';
import { QmpClient } from '../src/vm/qmp/index.js';
import { requireBinary } from './support/binaries.js';
import { qemuProcessesFor } from '../../test/support/e2e-lab.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SPICE_PASSWORD = 'lab-spice-ticket';
const VNC_PASSWORD = 'labvnc1';
const dirs: string[] = [];
let stateDir: string;
let vm: LabVm | undefined;

function labOptions(dir: string): LabUpOptions {
  return {
    stateDir: dir,
    cacheDir: defaultCacheDir(),
    agent: path.join(repo, 'guest-agent/src/main.ts'),
    agentAliases: { '@atp/protocol': path.join(repo, 'protocol-schemas/src/index.ts') },
    killOnExit: true,
    readyTimeoutMs: 300_000,
  };
}

function up(): LabVm {
  if (!vm) throw new Error('the lab VM with display servers did not start (see beforeAll)');
  return vm;
}

async function qmpQuery<T>(socket: string, command: string): Promise<T> {
  const qmp = await QmpClient.connect({ path: socket }, { connectTimeoutMs: 10_000 });
  try {
    return await qmp.execute<T>(command, undefined, { timeoutMs: 10_000 });
  } finally {
    await qmp.close();
  }
}

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  requireBinary('openssl', 'openssl');
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'atp-labdisp-'));
  dirs.push(stateDir);
  vm = await labUp({ ...labOptions(stateDir), display: { spice: { password: SPICE_PASSWORD, tls: true }, vnc: { password: VNC_PASSWORD } } });
}, 600_000);

afterAll(async () => {
  for (const dir of dirs) {
    await labDown({ stateDir: dir }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('lab VM with SPICE (TLS, password) and VNC (unix socket, password)', () => {
  it("boots with the agent, and QMP query-spice / query-vnc show both servers with password auth", async () => {
    const lab = up();
    expect(lab.hello?.token).toBe(lab.state.token);
    const spiceEndpoint = labDisplayEndpoint(lab.state, 'spice');
    expect(spiceEndpoint.address.kind).toBe('tcp');
    const port = spiceEndpoint.address.kind === 'tcp' ? spiceEndpoint.address.port : -1;
    const spice = await qmpQuery<{ enabled: boolean; auth: string; host: string; 'tls-port': number; port?: number }>(lab.state.sockets.qmp, 'query-spice');
    expect(spice).toMatchObject({ enabled: true, auth: 'spice', host: '127.0.0.1', 'tls-port': port });
    expect(spice.port).toBeUndefined();
    const vnc = await qmpQuery<{ enabled: boolean; auth: string; family: string; service: string }>(lab.state.sockets.qmp, 'query-vnc');
    expect(vnc).toMatchObject({ enabled: true, auth: 'vnc', family: 'unix', service: path.join(stateDir, 'vnc.sock') });
  });

  it('records the endpoints in the 0600 state file; the VNC socket exists; QEMU runs with key-delay-ms=0', async () => {
    const lab = up();
    expect(labDisplayEndpoint(lab.state, 'vnc')).toEqual({ protocol: 'vnc', address: { kind: 'unix', path: path.join(stateDir, 'vnc.sock') }, password: VNC_PASSWORD });
    expect(lab.state.display?.vncKeyDelayMs).toBe(0);
    expect((await stat(path.join(stateDir, 'vnc.sock'))).isSocket()).toBe(true);
    expect((await stat(path.join(stateDir, 'state.json'))).mode & 0o777).toBe(0o600);
    expect(lab.state.args[lab.state.args.indexOf('-vnc') + 1]).toMatch(/,key-delay-ms=0,/);
  });

  it('never puts a password on QEMU\'s command line or in state.args', async () => {
    const lab = up();
    const cmdline = await readFile(`/proc/${lab.state.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('password-secret=atp-spice-password');
    expect(cmdline).toContain('password-secret=atp-vnc-password');
    for (const secret of [SPICE_PASSWORD, VNC_PASSWORD]) {
      expect(cmdline).not.toContain(secret);
      expect(lab.state.args.join(' ')).not.toContain(secret);
    }
  });

  it("the TLS port completes a TLS handshake trusting only the lab's CA", async () => {
    const endpoint = labDisplayEndpoint(up().state, 'spice');
    if (endpoint.address.kind !== 'tcp' || endpoint.tls === undefined) throw new Error('expected a TLS TCP endpoint');
    const { host, port } = endpoint.address;
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const socket = tls.connect({ host, port, ca: endpoint.tls?.ca }, () => {
        resolve(socket.authorized);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    expect(authorized).toBe(true);
    const x509 = path.join(stateDir, 'x509');
    expect((await readdir(x509)).sort()).toEqual(['ca-cert.pem', 'server-cert.pem', 'server-key.pem']);
    expect(readFileSync(path.join(x509, 'ca-cert.pem'), 'utf8')).toBe(endpoint.tls.ca);
  });

  it("the SPICE client links the main channel with the lab's endpoint; a wrong ticket is ATP_SPICE_AUTH", async () => {
    const endpoint = labDisplayEndpoint(up().state, 'spice');
    const linked = await linkChannel(endpoint, { channelType: 1, channelId: 0, connectionId: 0 }, 20_000);
    linked.socket.destroy();
    const wrong = await linkChannel({ ...endpoint, password: 'not-the-ticket' }, { channelType: 1, channelId: 0, connectionId: 0 }, 20_000).catch((e: unknown) => e);
    expect(isAtpError(wrong, 'ATP_SPICE_AUTH')).toBe(true);
  });

  it("the VNC client logs in over the unix socket with the lab's endpoint; a wrong password is ATP_VNC_AUTH", async () => {
    const endpoint = labDisplayEndpoint(up().state, 'vnc');
    const { client } = await connectVnc(endpoint, { timeoutMs: 20_000 });
    await client.close();
    const wrong = await connectVnc({ ...endpoint, password: 'wrongpw' }, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(isAtpError(wrong, 'ATP_VNC_AUTH')).toBe(true);
  });
});

describe('lab display start-up failures and the plain SPICE socket', () => {
  it('a fixed TLS port already in use is ATP_LAB_BOOT naming it, with no QEMU, state or secret left', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-labdisp-busy-'));
    dirs.push(dir);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const error = await labUp({ ...labOptions(dir), display: { spice: { tls: true, tlsPort: port, password: 'pw' } } }).catch((e: unknown) => e);
      expect(isAtpError(error, 'ATP_LAB_BOOT')).toBe(true);
      expect((error as Error).message).toContain(`127.0.0.1:${port} is in use`);
      expect(qemuProcessesFor(dir)).toEqual([]);
      expect((await readdir(dir)).filter((f) => !f.endsWith('.log'))).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 300_000);

  it('SPICE on a unix socket (no TLS) without a password: QEMU listens there with auth none', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-labdisp-bare-'));
    dirs.push(dir);
    const socket = path.join(dir, 'spice.sock');
    const qmpPath = path.join(dir, 'qmp.sock');
    const args = ['-accel', 'tcg', '-machine', 'pc', '-nographic', '-nic', 'none', '-monitor', 'none', '-serial', 'none', '-qmp', `unix:${qmpPath},server=on,wait=off`];
    const qemu = spawn('qemu-system-x86_64', [...args, ...displayQemuArgs({ spice: { listen: { kind: 'unix', path: socket } } })], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 60_000;
      let spice: { enabled: boolean; auth: string; host: string } | undefined;
      while (spice === undefined) {
        spice = await qmpQuery<{ enabled: boolean; auth: string; host: string }>(qmpPath, 'query-spice').catch(() => undefined);
        if (spice === undefined && Date.now() > deadline) throw new Error('QEMU with the plain SPICE socket did not answer query-spice within 60 s');
        if (spice === undefined) await new Promise((r) => setTimeout(r, 200));
      }
      expect(spice).toMatchObject({ enabled: true, auth: 'none', host: socket });
      expect((await stat(socket)).isSocket()).toBe(true);
      const linked = await linkChannel({ protocol: 'spice', address: { kind: 'unix', path: socket } }, { channelType: 1, channelId: 0, connectionId: 0 }, 20_000);
      linked.socket.destroy();
    } finally {
      qemu.kill('SIGKILL');
    }
  }, 120_000);
});
