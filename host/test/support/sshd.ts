/**
 * A real OpenSSH sshd on 127.0.0.1 for tests and benches: its own config, an
 * ed25519 host key and an authorized ed25519 user key (both generated) in a
 * fresh temp dir, a free port, `sshd -D -e` as a child process. We run as
 * root, so the user is root (PermitRootLogin prohibit-password: keys only).
 * restart() kills sshd and every session process under it (so connections
 * really drop) and starts it again on the same port, with a new host key if
 * asked. cleanup() kills it and removes the dir. No vitest imports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Sshd {
  readonly dir: string;
  readonly port: number;
  readonly user: string;
  /** Private user key accepted by sshd. */
  readonly identityFile: string;
  /** The current host key's public line (`ssh-ed25519 AAAA… comment`). */
  hostPublicKey(): Promise<string>;
  /** `ssh-keygen -lf` of the current host key: `SHA256:…`. */
  hostFingerprint(): Promise<string>;
  readonly pid: number | undefined;
  /** What sshd printed so far (-e: logs on stderr). */
  log(): string;
  /** "Accepted publickey for …" lines sshd logged since startSshd (one per SSH connection that logged in); not cut off like log(). */
  acceptedLogins(): number;
  /** Stops sshd and its sessions. */
  stop(): Promise<void>;
  /** start again on the same port (a new host key with `newHostKey`). */
  start(options?: { newHostKey?: boolean }): Promise<void>;
  restart(options?: { newHostKey?: boolean }): Promise<void>;
  cleanup(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Every descendant of `pid` (from /proc), deepest last. */
async function descendants(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Resolves once something on 127.0.0.1:port sends an SSH banner. */
async function waitForBanner(port: number, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = exited();
    if (why !== undefined) throw new Error(`sshd exited: ${why}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.setTimeout(2000, () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(false));
      s.once('data', (d) => (s.destroy(), resolve(d.toString('latin1').startsWith('SSH-2.0'))));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function startSshd(options: { sshdConfigExtra?: string[] } = {}): Promise<Sshd> {
  const sshd = requireBinary('sshd', 'openssh-server');
  const keygen = requireBinary('ssh-keygen', 'openssh-client');
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-sshd-'));
  const hostKey = path.join(dir, 'host_ed25519');
  const identityFile = path.join(dir, 'user_ed25519');
  const newHostKey = async (): Promise<void> => {
    await rm(hostKey, { force: true });
    await rm(`${hostKey}.pub`, { force: true });
    await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'atp-test-host', '-f', hostKey]);
  };
  await newHostKey();
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'atp-test-user', '-f', identityFile]);
  await writeFile(path.join(dir, 'authorized_keys'), await readFile(`${identityFile}.pub`, 'utf8'), { mode: 0o600 });
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'AllowStreamLocalForwarding yes',
    'LogLevel VERBOSE',
    // bash sources ~/.bashrc when it sees SSH_CLIENT and SHLVL < 2: the test user's rc files (here root's,
    // which runs `pyenv init`) must not slow down or stall every exec. SHLVL=1 makes the login shell level 2.
    'SetEnv SHLVL=1',
    ...(options.sshdConfigExtra ?? []),
  ];
  const configFile = path.join(dir, 'sshd_config');
  await writeFile(configFile, `${config.join('\n')}\n`);
  let child: ChildProcess | undefined;
  let exitedWith: string | undefined;
  let stderr = '';
  let accepted = 0;

  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.pid === undefined || exitedWith !== undefined) return;
    // Freeze sshd and every process under it (re-scanning until no new one appears), then kill them all:
    // killing the listener first would orphan session processes forked a moment earlier.
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    const frozen = new Set<number>([c.pid]);
    signal(c.pid, 'SIGSTOP');
    for (let pass = 0; pass < 10; pass++) {
      const found = (await descendants(c.pid)).filter((p) => !frozen.has(p));
      if (found.length === 0) break;
      for (const p of found) {
        frozen.add(p);
        signal(p, 'SIGSTOP');
      }
    }
    for (const p of frozen) signal(p, 'SIGKILL');
    await Promise.race([gone, sleep(10_000)]);
  };
  const start = async (opts: { newHostKey?: boolean } = {}): Promise<void> => {
    if (opts.newHostKey) await newHostKey();
    exitedWith = undefined;
    const c = spawn(sshd, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-20_000)));
    // Counted line by line as they come: log() keeps only the tail.
    let partial = '';
    c.stderr?.on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      accepted += lines.filter((line) => /^Accepted publickey for /.test(line)).length;
    });
    c.once('error', (e) => (exitedWith = e.message));
    c.once('exit', (code, signal) => (exitedWith = `${signal ?? code}: ${stderr.slice(-500)}`));
    await waitForBanner(port, 20_000, () => (child === c ? exitedWith : 'replaced'));
  };
  await start();
  return {
    dir,
    port,
    user: os.userInfo().username,
    identityFile,
    hostPublicKey: () => readFile(`${hostKey}.pub`, 'utf8').then((s) => s.trim()),
    hostFingerprint: async () => (await run(keygen, ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`])).stdout.split(' ')[1] ?? '',
    get pid() {
      return child?.pid;
    },
    log: () => stderr,
    acceptedLogins: () => accepted,
    stop,
    start,
    restart: async (opts) => {
      await stop();
      await start(opts);
    },
    cleanup: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
