/**
 * Starts a real, guest-less qemu-system-x86_64 for QMP tests and benches:
 * TCG, SeaBIOS only, PS/2 keyboard and mouse (i8042, part of the pc board),
 * a USB tablet for absolute moves, a VGA card (id 'video0', console 0) for screendump, running (not -S:
 * QEMU refuses input while paused). Input that reaches QEMU's input core shows
 * up in the trace log (input_event_* trace points). Everything lives in a fresh
 * temp dir; `cleanup()` kills QEMU (SIGTERM, then SIGKILL) and removes the dir.
 * With `qmpTcp`, one more QMP monitor listens on 127.0.0.1 at a free port.
 * No vitest imports: the benches use this too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { requireBinary } from './binaries.js';

export interface QemuOptions {
  /** Record input_event_* trace points to `tracePath` (default true). */
  trace?: boolean;
  /** Extra QMP sockets besides `qmpPath` (e.g. a raw baseline connection in benches). */
  extraQmpSockets?: number;
  /** Also serve QMP on TCP 127.0.0.1 (port in `qmpTcpPort`); default false. */
  qmpTcp?: boolean;
}

export interface QemuInstance {
  readonly dir: string;
  readonly qmpPath: string;
  readonly extraQmpPaths: readonly string[];
  /** The TCP QMP port on 127.0.0.1 when started with `qmpTcp`, else undefined. */
  readonly qmpTcpPort: number | undefined;
  readonly tracePath: string;
  /** The pid of the current QEMU process. */
  readonly pid: number;
  signal(signal: NodeJS.Signals): void;
  /** Resolves once the current QEMU process has exited. */
  waitForExit(timeoutMs?: number): Promise<void>;
  /** input_event_* lines of the trace log so far. */
  traceLines(): Promise<string[]>;
  /** Polls the trace until `done(lines)` holds; rejects with the lines seen after `timeoutMs`. */
  waitForTrace(done: (lines: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  /** Kills QEMU and starts a new one on the same socket paths. */
  restart(): Promise<void>;
  /** Kills QEMU (SIGCONT + SIGTERM, SIGKILL after 3 s). */
  kill(): Promise<void>;
  /** kill() and remove the temp dir. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The paths among `paths` with a listening unix socket. The socket file appears
 * at bind(), before listen(): connecting in between is refused, so poll the
 * kernel's table (flag __SO_ACCEPTCON = 0x10000) instead of the file system.
 */
export async function listening(paths: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const table = await readFile('/proc/net/unix', 'utf8');
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const sockPath = cols[7];
    if (sockPath && paths.includes(sockPath) && (Number.parseInt(cols[3] ?? '0', 16) & 0x10000) !== 0) found.add(sockPath);
  }
  return found;
}

/** A port that was free a moment ago (bind port 0, read it, release it); QEMU may still lose a race for it. */
export async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP address for a free port');
  return address.port;
}

/** Is something listening on 127.0.0.1:`port`? (TCP state 0A = LISTEN in /proc/net/tcp.) */
async function tcpListening(port: number): Promise<boolean> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const table = await readFile('/proc/net/tcp', 'utf8');
  return table.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    return cols[1] === local && cols[3] === '0A';
  });
}

export async function startQemu(options: QemuOptions = {}): Promise<QemuInstance> {
  const binary = requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-qemu-'));
  const qmpPath = path.join(dir, 'qmp.sock');
  const extraQmpPaths = Array.from({ length: options.extraQmpSockets ?? 0 }, (_, i) => path.join(dir, `qmp-${i + 1}.sock`));
  const tracePath = path.join(dir, 'trace.log');
  let qmpTcpPort: number | undefined;
  const baseArgs = ['-accel', 'tcg', '-machine', 'pc', '-nodefaults', '-device', 'VGA,id=video0', '-display', 'none'];
  baseArgs.push('-device', 'qemu-xhci', '-device', 'usb-tablet', '-nic', 'none', '-m', '64', '-msg', 'timestamp=on');
  for (const p of [qmpPath, ...extraQmpPaths]) baseArgs.push('-qmp', `unix:${p},server=on,wait=off`);
  if (options.trace !== false) baseArgs.push('-trace', 'input_event_*', '-D', tracePath);
  const args = (): string[] => (qmpTcpPort === undefined ? baseArgs : [...baseArgs, '-qmp', `tcp:127.0.0.1:${qmpTcpPort},server=on,wait=off`]);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  const onProcessExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', onProcessExit);

  async function launch(): Promise<void> {
    for (const p of [qmpPath, ...extraQmpPaths]) await rm(p, { force: true });
    stderr = '';
    const proc = spawn(binary, args(), { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
    child = proc;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const all = [qmpPath, ...extraQmpPaths];
      if ((await listening(all)).size === all.length && (qmpTcpPort === undefined || (await tcpListening(qmpTcpPort)))) return;
      if (gone) throw new Error(`qemu-system-x86_64 exited before its QMP socket appeared: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`QMP socket ${qmpPath} did not appear within 30 s: ${stderr}`);
      await sleep(25);
    }
  }

  async function kill(): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  async function traceLines(): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(tracePath, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter((l) => l.includes(':input_event_'));
  }

  try {
    if (options.qmpTcp) {
      // The port can be taken between freeTcpPort() and QEMU's bind: try a few.
      for (let attempt = 1; ; attempt++) {
        qmpTcpPort = await freeTcpPort();
        try {
          await launch();
          break;
        } catch (error) {
          if (attempt >= 5 || !stderr.includes('Address already in use')) throw error;
        }
      }
    } else {
      await launch();
    }
  } catch (error) {
    await kill();
    await rm(dir, { recursive: true, force: true });
    process.off('exit', onProcessExit);
    throw error;
  }

  return {
    dir,
    qmpPath,
    extraQmpPaths,
    get qmpTcpPort(): number | undefined {
      return qmpTcpPort;
    },
    tracePath,
    get pid(): number {
      return child?.pid ?? -1;
    },
    signal(signal) {
      child?.kill(signal);
    },
    async waitForExit(timeoutMs = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`QEMU did not exit within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    },
    traceLines,
    async waitForTrace(done, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lines = await traceLines();
        if (done(lines)) return lines;
        if (Date.now() > deadline) throw new Error(`trace condition not met within ${timeoutMs} ms; trace:\n${lines.slice(-40).join('\n')}`);
        await sleep(50);
      }
    },
    async restart() {
      await kill();
      await launch();
    },
    kill,
    async cleanup() {
      await kill();
      process.off('exit', onProcessExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
