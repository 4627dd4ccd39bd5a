/**
 * Opens the byte stream under a QMP or QGA client: a unix socket or TCP
 * (with Nagle off, since every message is small and latency is what we measure).
 * Clients take any Duplex, so libvirt passthrough and SSH forwards plug in later.
 */
import net from 'node:net';
import { AtpError, type AtpErrorCode } from '@atp/protocol';

export type SocketTarget = { path: string } | { host: string; port: number };

export function describeTarget(target: SocketTarget): string {
  return 'path' in target ? target.path : `${target.host}:${target.port}`;
}

export function connectSocket(target: SocketTarget, timeoutMs: number, errorCode: AtpErrorCode): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? net.createConnection({ path: target.path }) : net.createConnection({ host: target.host, port: target.port });
    const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    function fail(cause: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(new AtpError(errorCode, `cannot connect to ${describeTarget(target)}: ${cause.message}`, { cause, details: { target: describeTarget(target) } }));
    }
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      if (!('path' in target)) socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
