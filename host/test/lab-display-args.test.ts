/**
 * The lab's display servers without booting: the QEMU arguments (pure), the
 * option checks, the state record and labDisplayEndpoint, the bind-failure
 * detector, and prepareLabDisplay's files (password files, TLS dir, a fresh
 * TLS port per attempt) in a temp dir.
 */
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { displayQemuArgs } from '../src/lab/display-args.js';
import { labDisplayEndpoint, labDisplayProblem, prepareLabDisplay, spiceBindFailed } from '../src/lab/display.js';
import { statePaths } from '../src/lab/paths.js';
import { labStateSchema, type LabState } from '../src/lab/state.js';
import { buildQemuArgs } from '../src/lab/vm-args.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const after = (args: string[], flag: string): string[] => args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []));

describe('displayQemuArgs', () => {
  it('adds nothing without display servers', () => {
    expect(displayQemuArgs(undefined)).toEqual([]);
    expect(displayQemuArgs({})).toEqual([]);
  });

  it('SPICE on a unix socket without a password turns ticketing off (else every client is refused)', () => {
    expect(displayQemuArgs({ spice: { listen: { kind: 'unix', path: '/run/lab/spice.sock' } } })).toEqual(['-vga', 'std', '-spice', 'unix=on,addr=/run/lab/spice.sock,disable-ticketing=on']);
  });

  it('SPICE on a TLS port with a password: a secret object and password-secret, never the password', () => {
    const args = displayQemuArgs({ spice: { listen: { kind: 'tls', host: '127.0.0.1', port: 5931, x509Dir: '/run/lab/x509' }, passwordFile: '/run/lab/spice.password' } });
    expect(args).toEqual([
      '-vga',
      'std',
      '-object',
      'secret,id=atp-spice-password,format=raw,file=/run/lab/spice.password',
      '-spice',
      'addr=127.0.0.1,tls-port=5931,x509-dir=/run/lab/x509,password-secret=atp-spice-password',
    ]);
  });

  it('VNC on a unix socket with key-delay-ms and a password secret', () => {
    expect(displayQemuArgs({ vnc: { socket: '/run/lab/vnc.sock', keyDelayMs: 0, passwordFile: '/run/lab/vnc.password' } })).toEqual([
      '-vga',
      'std',
      '-object',
      'secret,id=atp-vnc-password,format=raw,file=/run/lab/vnc.password',
      '-vnc',
      'unix:/run/lab/vnc.sock,key-delay-ms=0,password-secret=atp-vnc-password',
    ]);
    expect(after(displayQemuArgs({ vnc: { socket: '/s', keyDelayMs: 10 } }), '-vnc')).toEqual(['unix:/s,key-delay-ms=10']);
  });

  it('doubles commas in paths so QEMU reads them as one value', () => {
    const args = displayQemuArgs({ spice: { listen: { kind: 'unix', path: '/a,b/spice.sock' }, passwordFile: '/a,b/pw' }, vnc: { socket: '/a,b/vnc.sock', keyDelayMs: 0 } });
    expect(after(args, '-spice')).toEqual(['unix=on,addr=/a,,b/spice.sock,password-secret=atp-spice-password']);
    expect(after(args, '-object')).toEqual(['secret,id=atp-spice-password,format=raw,file=/a,,b/pw']);
    expect(after(args, '-vnc')).toEqual(['unix:/a,,b/vnc.sock,key-delay-ms=0']);
  });

  it('buildQemuArgs keeps the serial console (-nographic, -serial file:) and appends the display servers', () => {
    const paths = statePaths('/run/lab');
    const base = { kernel: '/k', initrd: '/i', paths, tokenFile: paths.token, agentId: 'lab', uuid: '00000000-0000-4000-8000-000000000000', accel: 'tcg' as const, memoryMb: 384 };
    const plain = buildQemuArgs(base);
    const args = buildQemuArgs({ ...base, display: { spice: { listen: { kind: 'unix', path: paths.spice } }, vnc: { socket: paths.vnc, keyDelayMs: 0 } } });
    expect(args.slice(0, plain.length)).toEqual(plain);
    expect(args).toContain('-nographic');
    expect(after(args, '-serial')).toEqual([`file:${paths.console}`]);
    expect(after(args, '-spice')).toEqual(['unix=on,addr=/run/lab/spice.sock,disable-ticketing=on']);
    expect(after(args, '-vnc')).toEqual(['unix:/run/lab/vnc.sock,key-delay-ms=0']);
    expect(plain).not.toContain('-vga');
  });
});

describe('labDisplayProblem', () => {
  it('accepts SPICE tickets of up to 59 bytes and VNC passwords of up to 8 printable ASCII characters', () => {
    expect(labDisplayProblem({ spice: { password: 'x'.repeat(59), tls: true }, vnc: { password: '12345678', keyDelayMs: 10 } })).toBeUndefined();
    expect(labDisplayProblem({ spice: {}, vnc: {} })).toBeUndefined();
  });

  it('names the field and never quotes the password', () => {
    const cases: [Parameters<typeof labDisplayProblem>[0], string][] = [
      [{ spice: { password: 'y'.repeat(60) } }, 'display.spice.password'],
      [{ spice: { password: 'é'.repeat(30) } }, 'display.spice.password'],
      [{ spice: { password: '' } }, 'display.spice.password'],
      [{ spice: { password: 'a\nb' } }, 'display.spice.password'],
      [{ vnc: { password: 'ninechars' } }, 'display.vnc.password'],
      [{ vnc: { password: 'pässwd' } }, 'display.vnc.password'],
      [{ vnc: { keyDelayMs: -1 } }, 'display.vnc.keyDelayMs'],
      [{ vnc: { keyDelayMs: 1.5 } }, 'display.vnc.keyDelayMs'],
    ];
    for (const [options, field] of cases) {
      const problem = labDisplayProblem(options);
      expect(problem?.field).toBe(field);
      const password = options.spice?.password ?? options.vnc?.password;
      if (password) expect(problem?.why).not.toContain(password);
    }
  });
});

function stateWith(display: LabState['display']): LabState {
  return labStateSchema.parse({
    version: 1,
    pid: 42,
    pidStartTicks: '1',
    startedAt: '2024-01-01T00:00:00.000Z',
    token: 't',
    agentId: 'lab',
    accel: 'tcg',
    stateDir: '/run/lab',
    sockets: { qmp: '/q', qga: '/g', agent: '/a' },
    console: '/c',
    qemuLog: '/l',
    image: { hash: 'h', kernel: '/k', initrd: '/i', kernelRelease: 'r', hasAgent: true },
    args: [],
    ...(display === undefined ? {} : { display }),
  });
}

describe('lab state and labDisplayEndpoint', () => {
  it('returns the recorded endpoints', () => {
    const spice = { protocol: 'spice' as const, address: { kind: 'tcp' as const, host: '127.0.0.1', port: 5931 }, tls: { ca: 'PEM' }, password: 'pw' };
    const vnc = { protocol: 'vnc' as const, address: { kind: 'unix' as const, path: '/run/lab/vnc.sock' } };
    const state = stateWith({ spice, vnc, vncKeyDelayMs: 0 });
    expect(labDisplayEndpoint(state, 'spice')).toEqual(spice);
    expect(labDisplayEndpoint(state, 'vnc')).toEqual(vnc);
  });

  it('a server the VM was started without is ATP_DISPLAY_NONE naming the VM and protocol', () => {
    for (const state of [stateWith(undefined), stateWith({ spice: { protocol: 'spice', address: { kind: 'unix', path: '/s' } } })]) {
      const error = (() => {
        try {
          return labDisplayEndpoint(state, 'vnc');
        } catch (e) {
          return e;
        }
      })();
      expect(isAtpError(error, 'ATP_DISPLAY_NONE')).toBe(true);
      expect((error as Error).message).toMatch(/lab VM in \/run\/lab .*no VNC server/);
    }
  });

  it('refuses a state whose spice slot holds a vnc endpoint', () => {
    expect(() => stateWith({ spice: { protocol: 'vnc', address: { kind: 'unix', path: '/s' } } })).toThrow(/spice endpoint/);
  });
});

describe('spiceBindFailed', () => {
  it("recognises spice-server's bind failure for exactly that port", () => {
    const log = [
      'qemu-system-x86_64: warning: Spice: ../server/reds.cpp:2585:reds_init_socket: binding socket to 127.0.0.1:5998 failed',
      'qemu-system-x86_64: warning: Spice: ../server/reds.cpp:3442:do_spice_init: Failed to open SPICE sockets',
      'qemu-system-x86_64: failed to initialize spice server',
    ].join('\n');
    expect(spiceBindFailed(log, '127.0.0.1', 5998)).toBe(true);
    expect(spiceBindFailed(log, '127.0.0.1', 5999)).toBe(false);
    expect(spiceBindFailed('qemu-system-x86_64: -spice: invalid option', '127.0.0.1', 5998)).toBe(false);
  });
});

describe('prepareLabDisplay', () => {
  it('writes the passwords 0600 without a newline, makes the TLS dir, and picks a TLS port per attempt', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-labdisp-'));
    dirs.push(dir);
    const paths = statePaths(dir);
    const prepared = await prepareLabDisplay({ spice: { password: 'spice-secret', tls: true }, vnc: { password: 'vncpw' } }, paths);
    expect(await readFile(paths.spicePassword, 'utf8')).toBe('spice-secret');
    expect(await readFile(paths.vncPassword, 'utf8')).toBe('vncpw');
    for (const f of [paths.spicePassword, paths.vncPassword]) expect((await stat(f)).mode & 0o777).toBe(0o600);
    expect((await readdir(paths.x509)).sort()).toEqual(['ca-cert.pem', 'server-cert.pem', 'server-key.pem']);
    const first = await prepared.attempt();
    expect(first.tlsPort).toBeGreaterThan(0);
    expect(first.record.spice).toMatchObject({ protocol: 'spice', address: { kind: 'tcp', host: '127.0.0.1', port: first.tlsPort }, password: 'spice-secret' });
    expect(first.record.spice?.tls?.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(first.record.vnc).toEqual({ protocol: 'vnc', address: { kind: 'unix', path: paths.vnc }, password: 'vncpw' });
    expect(first.record.vncKeyDelayMs).toBe(0);
    expect(JSON.stringify(displayQemuArgs(first.args))).not.toMatch(/spice-secret|vncpw/);
    const ports = new Set([first.tlsPort]);
    for (let i = 0; i < 5; i++) ports.add((await prepared.attempt()).tlsPort);
    expect(ports.size).toBeGreaterThan(1);
  });

  it('refuses bad options with ATP_SCHEMA_INVALID before writing anything', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-labdisp-'));
    dirs.push(dir);
    const error = await prepareLabDisplay({ vnc: { password: 'toolongpassword' } }, statePaths(dir)).catch((e: unknown) => e);
    expect(isAtpError(error, 'ATP_SCHEMA_INVALID')).toBe(true);
    expect((error as Error).message).toContain('display.vnc.password');
    expect((error as Error).message).not.toContain('toolongpassword');
    expect(await readdir(dir)).toEqual([]);
  });
});
