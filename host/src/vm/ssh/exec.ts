/**
 * One remote command to completion over an exec channel: argv quoted for the
 * remote shell, optional stdin, stdout and stderr collected (bounded), exit
 * status. A timeout rejects ATP_SSH_TIMEOUT at once and closes the channel
 * (after a KILL signal request). OpenSSH 9.2 ignores that request for exec
 * sessions, and a channel close only closes the command's pipes, so a remote
 * command that neither reads stdin nor writes runs on until it ends by
 * itself: wrap long ones in `timeout(1)` on the remote side if that matters.
 * A lost connection rejects ATP_SSH_DISCONNECTED.
 */
import type { ClientChannel } from 'ssh2';
import { AtpError } from '@atp/protocol';
import { CHANNEL_FAILURE_GRACE_MS, type ExecOptions, type SshConnection } from './connection.js';
import { timerDelay } from '../../util/timers.js';

export interface RunOptions extends ExecOptions {
  /** Bytes written to the command's stdin, then EOF (default: EOF at once). */
  stdin?: string | Buffer;
  /** Default 30000 ms. */
  timeoutMs?: number;
  /** Reject ATP_SSH_EXEC on a non-zero exit or a signal (default true). */
  check?: boolean;
  /** Output bound per stream (default 16 MiB): the channel is closed past it. */
  maxOutputBytes?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status, or undefined when killed by a signal (or none was sent). */
  code: number | undefined;
  signal: string | undefined;
}

/** Stops a remote command: a KILL signal request, then close the channel. */
export function killChannel(channel: ClientChannel): void {
  try {
    channel.signal('KILL');
  } catch {
    // the channel is already gone
  }
  channel.close();
}

export async function runRemote(connection: SshConnection, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = timerDelay(options.timeoutMs ?? 30_000);
  const limit = options.maxOutputBytes ?? 16 * 1024 * 1024;
  const ctx = { host: connection.endpoint.host, command: argv[0] ?? '' };
  const channel = await connection.execChannel(argv, options);
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let code: number | undefined;
    let signal: string | undefined;
    let fault: AtpError | undefined;
    let settled = false;
    const abort = (error: AtpError): void => {
      fault ??= error;
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopLost();
      reject(error);
    };
    const timer = setTimeout(() => {
      abort(new AtpError('ATP_SSH_TIMEOUT', `remote ${ctx.command} on ${connection.label} did not finish within ${timeoutMs} ms`, { details: { ...ctx, timeoutMs } }));
      killChannel(channel);
    }, timeoutMs);
    const stopLost = connection.onClose((e) => {
      abort(new AtpError(e.code === 'ATP_SSH_CLOSED' ? 'ATP_SSH_CLOSED' : 'ATP_SSH_DISCONNECTED', `remote ${ctx.command}: ${e.message}`, { cause: e, details: ctx }));
      channel.destroy();
    });
    channel.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes <= limit) out.push(d);
      else killChannel(channel);
    });
    channel.stderr.on('data', (d: Buffer) => {
      errBytes += d.length;
      if (errBytes <= limit) err.push(d);
    });
    channel.on('exit', (c: number | null, s?: string) => {
      if (typeof c === 'number') code = c;
      if (typeof s === 'string') signal = s;
    });
    channel.on('error', (e: Error) => {
      fault ??= new AtpError('ATP_SSH_CHANNEL', `remote ${ctx.command} on ${connection.label}: ${e.message}`, { cause: e, details: ctx });
    });
    channel.on('close', () => {
      if (settled) return;
      // No exit status: the connection may be dying (its close comes a moment later); then it is a disconnect.
      if (code === undefined && signal === undefined && !connection.closed) setTimeout(finish, CHANNEL_FAILURE_GRACE_MS);
      else finish();
    });
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopLost();
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal };
      if (fault) return reject(fault);
      if (options.check !== false && (code !== 0 || signal !== undefined)) {
        const status = signal !== undefined ? `signal ${signal}` : code === undefined ? 'no exit status' : `status ${code}`;
        const said = result.stderr.trim().slice(-2000);
        return reject(new AtpError('ATP_SSH_EXEC', `remote ${ctx.command} on ${connection.label} exited with ${status}${said ? `: ${said}` : ''}`, { details: { ...ctx, code, signal, stderr: said } }));
      }
      resolve(result);
    };
    channel.end(options.stdin ?? undefined);
  });
}
