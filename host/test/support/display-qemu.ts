/**
 * A bare QEMU with display servers, for SPICE and VNC client tests: TCG,
 * SeaBIOS only (no guest OS), std VGA, PS/2 keyboard and mouse (pc board),
 * a usb-tablet (so an absolute device exists), QMP on a unix socket, and
 * `-trace input_event_*` to a file: the proof of what QEMU's input core
 * received. Running, never -S (QEMU drops SPICE/VNC input while stopped).
 *
 *   const q = await startDisplayQemu({ spice: { password: 'pw' }, vnc: {} });
 *   q.endpoint('spice')        DisplayEndpoint to connect to (password included; also q.spice / q.vnc)
 *   await q.waitForInput((events) => events.length >= 2, 'two key events', from)
 *   await q.cleanup()
 *
 * SPICE listens on a unix socket by default, on 127.0.0.1:free-port with
 * `tcp: true`, or on a TLS port with `tls: true` (a fresh CA and server
 * certificate from host/src/display/tls; the endpoint carries the CA).
 * VNC listens on a unix socket (`keyDelayMs` default 0). Passwords go in
 * through `-object secret` files. Everything lives in a temp dir.
 * No vitest imports: benches may use this too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DisplayEndpoint } from '../../src/display/endpoint.js';
import { generateX509Dir } from '../../src/display/tls/index.js';
import { QmpClient } from '../../src/vm/qmp/index.js';
import { requireBinary } from './binaries.js';
import { freeTcpPort, listening } from './qemu.js';

export interface DisplayQemuOptions {
  spice?: { password?: string; tcp?: boolean; tls?: boolean };
  vnc?: { password?: string; keyDelayMs?: number };
  /** Add the usb-tablet (default true). */
  tablet?: boolean;
}

/** One input_event_* trace line, parsed. `key.code` is the set-1/qnum number when QEMU traced one. */
export type InputEvent =
  | { kind: 'key'; qcode: string; code?: number; down: boolean }
  | { kind: 'btn'; button: string; down: boolean }
  | { kind: 'abs'; axis: string; value: number }
  | { kind: 'rel'; axis: string; value: number };

export interface DisplayQemu {
  readonly dir: string;
  readonly qmpPath: string;
  readonly tracePath: string;
  readonly pid: number;
  readonly spice: DisplayEndpoint | undefined;
  readonly vnc: DisplayEndpoint | undefined;
  /** The SPICE or VNC endpoint; throws when this QEMU was started without that server. */
  endpoint(protocol: 'spice' | 'vnc'): DisplayEndpoint;
  /** A QMP client on the monitor (connected on first use, closed by cleanup). */
  qmp(): Promise<QmpClient>;
  /**
   * Makes the usb-tablet QEMU's current pointing device (HMP `mouse_set`), as a
   * guest driving it would: only then does SPICE offer client mouse mode and
   * QEMU hand VNC positions on as absolute.
   */
  useTablet(): Promise<void>;
  /** Every input event traced so far (sync lines dropped). Pass `from` = an earlier length to see only newer ones. */
  inputEvents(from?: number): Promise<InputEvent[]>;
  /** Polls the trace until `done(events since from)` holds; rejects naming `what` with the events seen. */
  waitForInput(done: (events: InputEvent[]) => boolean, what: string, from?: number, timeoutMs?: number): Promise<InputEvent[]>;
  /**
   * Resolves once SeaBIOS has initialised the PS/2 keyboard (its reset, which also sets QEMU's
   * LED state to 0, and then the enable command 0xF4). A lock state a SPICE client set before
   * that is wiped by the reset, so tests of the lock sync wait for this first.
   */
  waitForFirmwareKeyboard(timeoutMs?: number): Promise<void>;
  /** SIGKILL, at once (a server vanishing mid-send). */
  killHard(): Promise<void>;
  cleanup(): Promise<void>;
}

const LINE = /:input_event_(key_number|key_qcode|btn|rel|abs) con -?\d+, (.*)$/;

/** Parses QEMU 7.2 input_event_* trace lines (the `-trace input_event_*` format). */
export function parseInputTrace(text: string): InputEvent[] {
  const events: InputEvent[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, kind, rest = ''] = m;
    let f: RegExpExecArray | null;
    if (kind === 'key_number' && (f = /key number (0x[0-9a-f]+) \[([^\]]*)\], down (\d)/.exec(rest))) {
      events.push({ kind: 'key', qcode: f[2] ?? '', code: Number.parseInt(f[1] ?? '0', 16), down: f[3] === '1' });
    } else if (kind === 'key_qcode' && (f = /key qcode (\S+), down (\d)/.exec(rest))) {
      events.push({ kind: 'key', qcode: f[1] ?? '', down: f[2] === '1' });
    } else if (kind === 'btn' && (f = /button (\S+), down (\d)/.exec(rest))) {
      events.push({ kind: 'btn', button: f[1] ?? '', down: f[2] === '1' });
    } else if ((kind === 'rel' || kind === 'abs') && (f = /axis (\S+), value (-?(?:0x)?[0-9a-f]+)/.exec(rest))) {
      const raw = f[2] ?? '0';
      const value = kind === 'abs' ? Number.parseInt(raw, 16) : Number.parseInt(raw, 10);
      events.push({ kind, axis: f[1] ?? '', value });
    }
  }
  return events;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startDisplayQemu(options: DisplayQemuOptions = {}): Promise<DisplayQemu> {
  const binary = requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-dqemu-'));
  const qmpPath = path.join(dir, 'qmp.sock');
  const tracePath = path.join(dir, 'trace.log');
  const args = ['-accel', 'tcg', '-machine', 'pc', '-nodefaults', '-vga', 'std', '-display', 'none', '-nic', 'none', '-m', '64'];
  if (options.tablet !== false) args.push('-device', 'qemu-xhci', '-device', 'usb-tablet');
  // ps2_write_keyboard: the firmware's keyboard init (reset, then enable) shows in the trace; see waitForFirmwareKeyboard.
  args.push('-qmp', `unix:${qmpPath},server=on,wait=off`, '-trace', 'input_event_*', '-trace', 'ps2_write_keyboard', '-D', tracePath, '-msg', 'timestamp=on');

  let spice: DisplayEndpoint | undefined;
  let spicePort: number | undefined;
  const unixSockets = [qmpPath];
  if (options.spice) {
    const o = options.spice;
    const opts: string[] = [];
    if (o.tls) {
      const x509 = await generateX509Dir(path.join(dir, 'x509'));
      spicePort = await freeTcpPort();
      opts.push('addr=127.0.0.1', `tls-port=${spicePort}`, `x509-dir=${x509.dir}`);
      spice = { protocol: 'spice', address: { kind: 'tcp', host: '127.0.0.1', port: spicePort }, tls: { ca: x509.caPem } };
    } else if (o.tcp) {
      spicePort = await freeTcpPort();
      opts.push('addr=127.0.0.1', `port=${spicePort}`);
      spice = { protocol: 'spice', address: { kind: 'tcp', host: '127.0.0.1', port: spicePort } };
    } else {
      const sock = path.join(dir, 'spice.sock');
      opts.push('unix=on', `addr=${sock}`);
      unixSockets.push(sock);
      spice = { protocol: 'spice', address: { kind: 'unix', path: sock } };
    }
    if (o.password !== undefined) {
      await writeFile(path.join(dir, 'spice.pw'), o.password, { mode: 0o600 });
      args.push('-object', `secret,id=spicepw,format=raw,file=${path.join(dir, 'spice.pw')}`);
      opts.push('password-secret=spicepw');
      spice.password = o.password;
    } else {
      opts.push('disable-ticketing=on');
    }
    args.push('-spice', opts.join(','));
  }
  let vnc: DisplayEndpoint | undefined;
  if (options.vnc) {
    const sock = path.join(dir, 'vnc.sock');
    const opts = [`unix:${sock}`, `key-delay-ms=${options.vnc.keyDelayMs ?? 0}`];
    vnc = { protocol: 'vnc', address: { kind: 'unix', path: sock } };
    if (options.vnc.password !== undefined) {
      await writeFile(path.join(dir, 'vnc.pw'), options.vnc.password, { mode: 0o600 });
      args.push('-object', `secret,id=vncpw,format=raw,file=${path.join(dir, 'vnc.pw')}`);
      opts.push('password-secret=vncpw');
      vnc.password = options.vnc.password;
    }
    args.push('-vnc', opts.join(','));
    unixSockets.push(sock);
  }

  let stderr = '';
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onProcessExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onProcessExit);
  let qmpClient: QmpClient | undefined;

  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const cleanup = async (): Promise<void> => {
    await qmpClient?.close().catch(() => undefined);
    await kill('SIGTERM');
    process.off('exit', onProcessExit);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = (await listening(unixSockets)).size === unixSockets.length && (spicePort === undefined || (await tcpAccepts(spicePort)));
      if (ready) break;
      if (child.exitCode !== null) throw new Error(`qemu-system-x86_64 exited before its sockets appeared: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`QEMU's QMP/SPICE/VNC sockets did not appear within 30 s: ${stderr}`);
      await sleep(25);
    }
  } catch (error) {
    await cleanup();
    throw error;
  }

  const inputEvents = async (from = 0): Promise<InputEvent[]> => {
    const text = await readFile(tracePath, 'utf8').catch(() => '');
    return parseInputTrace(text).slice(from);
  };
  const qmp = async (): Promise<QmpClient> => {
    qmpClient ??= await QmpClient.connect({ path: qmpPath });
    return qmpClient;
  };
  return {
    dir,
    qmpPath,
    tracePath,
    pid: child.pid ?? -1,
    spice,
    vnc,
    endpoint(protocol) {
      const found = protocol === 'spice' ? spice : vnc;
      if (found === undefined) throw new Error(`this QEMU was started without a ${protocol} server`);
      return found;
    },
    qmp,
    async useTablet() {
      const monitor = await qmp();
      const mice = (await monitor.execute('query-mice')) as { index: number; name: string; absolute: boolean }[];
      const tablet = mice.find((m) => m.absolute);
      if (tablet === undefined) throw new Error(`no absolute pointing device in query-mice: ${JSON.stringify(mice)}`);
      await monitor.execute('human-monitor-command', { 'command-line': `mouse_set ${tablet.index}` });
    },
    inputEvents,
    async waitForInput(done, what, from = 0, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const events = await inputEvents(from);
        if (done(events)) return events;
        if (Date.now() > deadline) throw new Error(`QEMU's input trace did not show ${what} within ${timeoutMs} ms; events seen:\n${JSON.stringify(events.slice(-30))}`);
        await sleep(25);
      }
    },
    async waitForFirmwareKeyboard(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await readFile(tracePath, 'utf8').catch(() => '');
        if (/:ps2_write_keyboard \S+ val 244$/m.test(text)) return;
        if (Date.now() > deadline) throw new Error(`SeaBIOS did not enable the PS/2 keyboard (ps2_write_keyboard val 244) within ${timeoutMs} ms`);
        await sleep(25);
      }
    },
    killHard: () => kill('SIGKILL'),
    cleanup,
  };
}
