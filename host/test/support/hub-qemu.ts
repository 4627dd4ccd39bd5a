/**
 * A guest-less QEMU with one virtio-serial port whose host side is a chardev
 * unix socket (server=on, wait=off): what the hub connects to. SeaBIOS only, so
 * nobody answers inside; enough to show connect, drop and reconnect.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { requireBinary } from './binaries.js';

export interface ChardevQemu {
  readonly socketPath: string;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Starts a new QEMU on the same socket path. */
  start(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether a unix socket at `p` is in the kernel's table in the listening state (__SO_ACCEPTCON). */
async function isListening(p: string): Promise<boolean> {
  const table = await readFile('/proc/net/unix', 'utf8');
  return table.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    return cols[7] === p && (Number.parseInt(cols[3] ?? '0', 16) & 0x10000) !== 0;
  });
}

export function chardevQemu(socketPath: string): ChardevQemu {
  const binary = requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const onExit = (): void => void child?.kill('SIGKILL');
  const args = [
    '-accel', 'tcg', '-machine', 'pc', '-display', 'none', '-nic', 'none', '-m', '64',
    '-chardev', `socket,id=agent0,path=${socketPath},server=on,wait=off`,
    '-device', 'virtio-serial-pci', '-device', 'virtserialport,chardev=agent0,name=org.atp.agent.0',
  ];
  return {
    socketPath,
    async start() {
      await rm(socketPath, { force: true });
      let stderr = '';
      const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = proc;
      process.once('exit', onExit);
      proc.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      const deadline = Date.now() + 30_000;
      while (!(await isListening(socketPath))) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`QEMU exited early: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`chardev socket did not appear: ${stderr}`);
        await sleep(25);
      }
    },
    async kill() {
      process.off('exit', onExit);
      const proc = child;
      if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
