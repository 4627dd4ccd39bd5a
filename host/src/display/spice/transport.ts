/**
 * The byte streams under a SPICE channel: TCP (Nagle off: input messages are
 * tiny and latency is what ATP measures), a unix socket, or TLS over either
 * (SPICE's tls-port speaks TLS from the first byte; the server certificate is
 * checked against the endpoint's CA and name). One stream per channel.
 */
import net from 'node:net';
import tls from 'node:tls';
import { AtpError } from '@atp/protocol';
import { describeEndpoint, type DisplayEndpoint } from '../endpoint.js';
import { timerDelay } from '../../util/timers.js';

function connectRaw(endpoint: DisplayEndpoint): net.Socket {
  const a = endpoint.address;
  return a.kind === 'unix' ? net.createConnection({ path: a.path }) : net.createConnection({ host: a.host, port: a.port });
}

function tlsName(endpoint: DisplayEndpoint): string {
  const a = endpoint.address;
  return endpoint.tls?.servername ?? (a.kind === 'tcp' ? a.host : 'localhost');
}

/** Opens a stream to the endpoint (TLS handshake included) within `timeoutMs`; rejects ATP_SPICE_CONNECT naming the endpoint. */
export function openSpiceStream(endpoint: DisplayEndpoint, timeoutMs: number): Promise<net.Socket> {
  const where = describeEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    let socket: net.Socket | undefined;
    let settled = false;
    const fail = (cause: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      reject(new AtpError('ATP_SPICE_CONNECT', `cannot connect to the SPICE server ${where}: ${cause.message}`, { cause, details: { endpoint: where } }));
    };
    const done = (ready: net.Socket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ready.off('error', fail);
      resolve(ready);
    };
    const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timerDelay(timeoutMs));
    try {
      const raw = connectRaw(endpoint);
      socket = raw;
      raw.once('error', fail);
      raw.once('connect', () => {
        if (endpoint.address.kind === 'tcp') raw.setNoDelay(true);
        const tlsOptions = endpoint.tls;
        if (tlsOptions === undefined) {
          done(raw);
          return;
        }
        raw.off('error', fail);
        const name = tlsName(endpoint);
        const secure = tls.connect({
          socket: raw,
          ca: tlsOptions.ca,
          // SNI may not carry an IP address; the identity check below still covers it.
          ...(net.isIP(name) === 0 ? { servername: name } : {}),
          checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
        });
        socket = secure;
        secure.once('error', fail);
        secure.once('secureConnect', () => done(secure));
      });
    } catch (cause) {
      // Node throws synchronously for arguments it refuses (a port out of range).
      fail(cause instanceof Error ? cause : new Error(String(cause)));
    }
  });
}
