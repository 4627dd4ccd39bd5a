/**
 * Opens the byte stream under a QMP or QGA client: a unix socket, TCP (with
 * Nagle off, since every message is small and latency is what we measure), or a
 * caller's factory for any Duplex (libvirt passthrough, SSH forwards). Every
 * failure is an AtpError with the caller's connect code.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { AtpError, type AtpErrorCode } from '@atp/protocol';
import { timerDelay } from '../util/timers.js';

export type SocketTarget = { path: string } | { host: string; port: number };
/** Where a control channel lives: a socket, or a factory for any Duplex. */
export type StreamTarget = SocketTarget | { stream: () => Promise<Duplex> };

export function describeTarget(target: StreamTarget): string {
  if ('stream' in target) return 'custom stream';
  return 'path' in target ? target.path : `${target.host}:${target.port}`;
}

export function connectSocket(target: SocketTarget, timeoutMs: number, errorCode: AtpErrorCode): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket | undefined;
    const fail = (cause: Error): void => {
      clearTimeout(timer);
      socket?.destroy();
      reject(new AtpError(errorCode, `cannot connect to ${describeTarget(target)}: ${cause.message}`, { cause, details: { target: describeTarget(target) } }));
    };
    const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timerDelay(timeoutMs));
    try {
      socket = 'path' in target ? net.createConnection({ path: target.path }) : net.createConnection({ host: target.host, port: target.port });
    } catch (cause) {
      // Node throws synchronously for arguments it refuses (a port out of range).
      fail(cause instanceof Error ? cause : new Error(String(cause)));
      return;
    }
    const connected = socket;
    connected.once('error', fail);
    connected.once('connect', () => {
      clearTimeout(timer);
      connected.off('error', fail);
      if (!('path' in target)) connected.setNoDelay(true);
      resolve(connected);
    });
  });
}

/**
 * Opens any StreamTarget within `timeoutMs`. A factory that throws synchronously
 * rejects like one that rejects; a factory's stream that arrives after the timeout
 * belongs to nobody, so it is destroyed, with an 'error' listener so that its
 * later failure cannot crash the process unheard.
 */
export async function openStream(target: StreamTarget, timeoutMs: number, errorCode: AtpErrorCode): Promise<Duplex> {
  if (!('stream' in target)) return connectSocket(target, timeoutMs, errorCode);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const opening = Promise.resolve().then(() => target.stream());
  void opening.then(
    (late) => {
      if (!timedOut) return;
      late.on('error', () => undefined);
      late.destroy();
    },
    () => undefined,
  );
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timerDelay(timeoutMs));
  });
  try {
    return await Promise.race([opening, timeout]);
  } catch (cause) {
    if (cause instanceof AtpError) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new AtpError(errorCode, `cannot open the stream: ${message}`, { cause, details: { target: 'custom stream' } });
  } finally {
    clearTimeout(timer);
  }
}
