/**
 * virsh on another machine through SSH, for the unchanged VirshLibvirtClient:
 * - sshVirshSpawner: each virsh (the long-lived interactive one, per-call
 *   ones, `virsh event --loop`) is an exec channel running
 *   `exec env LC_ALL=C … virsh ARGS…` (quoted for the remote shell); its stdin,
 *   stdout and stderr are the channel's. Killing it sends KILL and closes the
 *   channel; a lost SSH connection closes it (the runner then restarts virsh
 *   through a new connection, with its own backoff).
 * - sshFileStager: `define` needs the XML as a file where virsh runs: a
 *   private `mktemp -d` dir on the remote host, written through stdin.
 */
import type { ClientChannel } from 'ssh2';
import { AtpError } from '@atp/protocol';
import { VirshLibvirtClient, type FileStager, type VirshLibvirtClientOptions } from '../libvirt/client.js';
import { createVirshRunner } from '../libvirt/virsh-auto.js';
import { VIRSH_ENV, type VirshChild, type VirshExit, type VirshSpawner } from '../libvirt/virsh-spawn.js';
import type { SshConnection } from './connection.js';
import { killChannel, runRemote } from './exec.js';
import type { SshConnectionManager } from './manager.js';

export type ConnectionSource = () => Promise<SshConnection>;

function channelChild(channel: ClientChannel, connection: SshConnection): VirshChild {
  const listeners: ((exit: VirshExit) => void)[] = [];
  let exit: VirshExit | undefined;
  let code: number | null = null;
  let signal: string | null = null;
  const finish = (e: VirshExit): void => {
    if (exit) return;
    exit = e;
    stopLost();
    for (const l of listeners.splice(0)) l(e);
  };
  const stopLost = connection.onClose(() => {
    channel.destroy();
    finish({ code: null, signal: 'SSH connection lost' });
  });
  channel.on('exit', (c: number | null, s?: string) => {
    if (typeof c === 'number') code = c;
    if (typeof s === 'string') signal = s;
  });
  channel.on('error', () => undefined); // reported through close
  channel.on('close', () => finish({ code, signal }));
  return {
    pid: undefined,
    stdin: channel,
    stdout: channel,
    stderr: channel.stderr,
    kill: () => killChannel(channel),
    onClose: (listener) => {
      if (exit) listener(exit);
      else listeners.push(listener);
    },
  };
}

/** Spawns virsh (`binary` on the remote PATH) over an exec channel of the connection `source` gives. */
export function sshVirshSpawner(source: ConnectionSource, binary = 'virsh'): VirshSpawner {
  return async (args) => {
    const connection = await source();
    const channel = await connection.execChannel([binary, ...args], { env: VIRSH_ENV });
    return channelChild(channel, connection);
  };
}

/** Stages files for `virsh define --file` in a private temp dir on the remote host. */
export function sshFileStager(source: ConnectionSource): FileStager {
  return async (name, content) => {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new AtpError('ATP_SSH_ARGUMENT', `staged file name ${JSON.stringify(name)} is not a plain file name`, { details: { name } });
    const connection = await source();
    const made = await runRemote(connection, ['mktemp', '-d', '/tmp/atp-define-XXXXXXXX'], { timeoutMs: 15_000 });
    const dir = made.stdout.trim();
    if (!dir.startsWith('/tmp/atp-define-')) throw new AtpError('ATP_SSH_EXEC', `remote mktemp printed ${JSON.stringify(dir)}`, { details: { host: connection.endpoint.host } });
    const file = `${dir}/${name}`;
    const remove = async (): Promise<void> => {
      await runRemote(await source(), ['rm', '-rf', '--', dir], { timeoutMs: 15_000 });
    };
    try {
      // mktemp -d makes the dir 0700; `tee` writes stdin to the file without a shell redirection.
      await runRemote(connection, ['tee', '--', file], { stdin: content, timeoutMs: 30_000 });
    } catch (error) {
      await remove().catch(() => undefined);
      throw error;
    }
    return { path: file, remove };
  };
}

export interface RemoteLibvirtOptions extends Omit<VirshLibvirtClientOptions, 'spawner' | 'stageFile' | 'runner'> {
  /** virsh on the remote PATH (default 'virsh'). */
  remoteBinary?: string;
  /**
   * Up to this many remote virsh carry calls side by side (a VirshPool; see
   * VirshRunnerOptions.pool). Each is one exec channel on the shared connection:
   * with the event streams and forwards, stay below the server's MaxSessions
   * (OpenSSH: 10). Calls still pass the manager's per-host limit first.
   */
  pool?: number;
}

/**
 * A VirshLibvirtClient whose virsh runs on `host` through the manager's shared
 * connection, counted against its limit; `options.pool` gives it a pool of them.
 */
export function remoteLibvirtClient(manager: SshConnectionManager, host: string, options: RemoteLibvirtOptions = {}): VirshLibvirtClient {
  const source: ConnectionSource = () => manager.connection(host);
  const spawner = sshVirshSpawner(source, options.remoteBinary);
  const uri = options.uri ?? 'qemu:///system';
  const runner = manager.wrapRunner(host, createVirshRunner({ ...options, uri, spawner }));
  return new VirshLibvirtClient({ ...options, uri, spawner, runner, stageFile: sshFileStager(source) });
}
