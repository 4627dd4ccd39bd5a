/**
 * The lab VM's display servers: SPICE (plain on a unix socket, or on a TLS
 * port with a CA made for this boot) and VNC (unix socket), each optionally
 * with a password. `prepareLabDisplay` checks the options, writes the password
 * files (0600, read by QEMU through `-object secret`) and the TLS material;
 * `attempt()` picks the TLS port for one QEMU start (vm.ts retries with a new
 * port when QEMU could not bind it); `labDisplayEndpoint` turns the state
 * file's record into the DisplayEndpoint the SPICE/VNC injectors take.
 *
 * Decisions:
 * - Passwords are kept in the state file (0600 in a 0700 dir, beside the
 *   agent token it already holds and the password files QEMU read), so any
 *   process that may drive the VM gets its endpoint from the state alone. They
 *   never reach QEMU's command line, `state.args`, an error or a log line.
 * - VNC key-delay-ms defaults to 0, not QEMU's 10: QEMU inserts that delay
 *   after every key event through its input queue, which caps typing near
 *   100 keys/s (the issue asks for at least 100/s through VNC), lets pointer
 *   events overtake queued keys, and drops events beyond its 1024-entry queue.
 *   ATP paces input itself (inject/pacing.ts) and measures what arrives, so a
 *   hidden second pacer only blurs the measurement; with 0, QEMU 7.2 adds no
 *   delay at all (qkbd_state_key_event skips it). A suite that wants to
 *   reproduce a libvirt VM's default passes keyDelayMs: 10.
 * - The TLS port is a free port on 127.0.0.1 chosen just before QEMU starts;
 *   another process may take it in between. QEMU then exits at once ("binding
 *   socket to 127.0.0.1:N failed"); vm.ts sees that in the QEMU log and starts
 *   again with a new port (3 attempts). QEMU cannot take a listening socket
 *   from us for SPICE, so the window cannot be closed, only retried. A fixed
 *   `tlsPort` is not retried: a port in use is an ATP_LAB_BOOT naming it.
 * - SPICE passwords are 1–59 bytes: spice-server keeps 59 and ignores a ticket
 *   over 60 bytes, leaving ticketing on with an empty ticket. VNC passwords are
 *   1–8 printable ASCII characters: VNC authentication uses only the first 8.
 */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { AtpError } from '@atp/protocol';
import type { DisplayEndpoint, DisplayProtocol } from '../display/endpoint.js';
import { generateX509Dir } from '../display/tls/index.js';
import type { LabDisplayArgs } from './display-args.js';
import type { statePaths } from './paths.js';
import { findExecutable, prerequisiteError } from './prereqs.js';
import type { LabState } from './state.js';

export interface LabDisplayOptions {
  /** `tlsPort`: a fixed TLS port instead of a free one (then a port in use fails the start instead of retrying). */
  spice?: { password?: string; tls?: boolean; tlsPort?: number };
  vnc?: { password?: string; keyDelayMs?: number };
}

/** The lab's VNC key-delay-ms (the header says why not QEMU's 10). */
export const DEFAULT_LAB_VNC_KEY_DELAY_MS = 0;
/** Where the SPICE TLS port listens. */
export const LAB_TLS_HOST = '127.0.0.1';

const SPICE_PASSWORD_MAX_BYTES = 59;
const VNC_PASSWORD = /^[\x20-\x7e]{1,8}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** Why the display options are unusable ({field, why}), or undefined. Never quotes a password. */
export function labDisplayProblem(options: LabDisplayOptions): { field: string; why: string } | undefined {
  const spicePassword = options.spice?.password;
  if (spicePassword !== undefined && (spicePassword === '' || Buffer.byteLength(spicePassword) > SPICE_PASSWORD_MAX_BYTES || CONTROL.test(spicePassword))) {
    return { field: 'display.spice.password', why: `must be 1–${SPICE_PASSWORD_MAX_BYTES} bytes without control characters (spice-server ignores a longer ticket)` };
  }
  const vncPassword = options.vnc?.password;
  if (vncPassword !== undefined && !VNC_PASSWORD.test(vncPassword)) {
    return { field: 'display.vnc.password', why: 'must be 1–8 printable ASCII characters (VNC authentication uses only the first 8)' };
  }
  const port = options.spice?.tlsPort;
  if (port !== undefined && (options.spice?.tls !== true || !(Number.isInteger(port) && port >= 1 && port <= 65535))) {
    return { field: 'display.spice.tlsPort', why: `must be a port number (1–65535) and needs tls: true, got ${String(port)}` };
  }
  const delay = options.vnc?.keyDelayMs;
  if (delay !== undefined && !(Number.isInteger(delay) && delay >= 0 && delay <= 1000)) {
    return { field: 'display.vnc.keyDelayMs', why: `must be an integer from 0 to 1000 ms, got ${String(delay)}` };
  }
  return undefined;
}

/** What the state file records about the display servers. */
export interface LabDisplayRecord {
  spice?: DisplayEndpoint;
  vnc?: DisplayEndpoint;
  vncKeyDelayMs?: number;
}

export interface LabDisplayAttempt {
  args: LabDisplayArgs;
  record: LabDisplayRecord;
  /** The TLS port this attempt asks QEMU to bind, if any. */
  tlsPort?: number;
  /** Whether another attempt would pick another port (false for a fixed tlsPort). */
  retryable: boolean;
}

export interface PreparedLabDisplay {
  /** One QEMU start's arguments and record; picks a fresh TLS port each call. */
  attempt(): Promise<LabDisplayAttempt>;
}

/** A TCP port on `host` that nobody listened on a moment ago. */
export function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Validates, then writes password files and TLS material into the state dir. */
export async function prepareLabDisplay(options: LabDisplayOptions, paths: ReturnType<typeof statePaths>): Promise<PreparedLabDisplay> {
  const problem = labDisplayProblem(options);
  if (problem !== undefined) throw new AtpError('ATP_SCHEMA_INVALID', `${problem.field} ${problem.why}`, { details: { field: problem.field } });
  const { spice, vnc } = options;
  if (spice?.password !== undefined) await writeFile(paths.spicePassword, spice.password, { mode: 0o600 });
  if (vnc?.password !== undefined) await writeFile(paths.vncPassword, vnc.password, { mode: 0o600 });
  let caPem: string | undefined;
  if (spice?.tls === true) {
    const openssl = findExecutable('openssl');
    if (openssl === undefined) throw prerequisiteError([{ what: 'openssl (for the SPICE TLS port)', debianPackage: 'openssl' }]);
    caPem = (await generateX509Dir(paths.x509, { openssl })).caPem;
  }
  const keyDelayMs = vnc?.keyDelayMs ?? DEFAULT_LAB_VNC_KEY_DELAY_MS;
  const password = (p: string | undefined): { password?: string } => (p === undefined ? {} : { password: p });
  return {
    async attempt() {
      const args: LabDisplayArgs = {};
      const record: LabDisplayRecord = {};
      let tlsPort: number | undefined;
      if (spice !== undefined) {
        const passwordFile = spice.password === undefined ? {} : { passwordFile: paths.spicePassword };
        if (caPem === undefined) {
          args.spice = { listen: { kind: 'unix', path: paths.spice }, ...passwordFile };
          record.spice = { protocol: 'spice', address: { kind: 'unix', path: paths.spice }, ...password(spice.password) };
        } else {
          tlsPort = spice.tlsPort ?? (await freeTcpPort(LAB_TLS_HOST));
          args.spice = { listen: { kind: 'tls', host: LAB_TLS_HOST, port: tlsPort, x509Dir: paths.x509 }, ...passwordFile };
          record.spice = { protocol: 'spice', address: { kind: 'tcp', host: LAB_TLS_HOST, port: tlsPort }, tls: { ca: caPem }, ...password(spice.password) };
        }
      }
      if (vnc !== undefined) {
        args.vnc = { socket: paths.vnc, keyDelayMs, ...(vnc.password === undefined ? {} : { passwordFile: paths.vncPassword }) };
        record.vnc = { protocol: 'vnc', address: { kind: 'unix', path: paths.vnc }, ...password(vnc.password) };
        record.vncKeyDelayMs = keyDelayMs;
      }
      return { args, record, retryable: spice?.tlsPort === undefined, ...(tlsPort === undefined ? {} : { tlsPort }) };
    },
  };
}

/** The lines QEMU logs when spice-server cannot bind its port (QEMU then exits). */
export function spiceBindFailed(log: string, host: string, port: number): boolean {
  return log.includes(`binding socket to ${host}:${port} failed`);
}

/** The lab VM's SPICE or VNC endpoint from its state; ATP_DISPLAY_NONE when it was started without that server. */
export function labDisplayEndpoint(state: LabState, protocol: DisplayProtocol): DisplayEndpoint {
  const endpoint = state.display?.[protocol];
  if (endpoint === undefined) {
    const flag = protocol === 'spice' ? 'display.spice' : 'display.vnc';
    throw new AtpError('ATP_DISPLAY_NONE', `the lab VM in ${state.stateDir} (agent ${state.agentId}) runs no ${protocol.toUpperCase()} server; start it with ${flag}`, {
      details: { vm: state.agentId, stateDir: state.stateDir, protocol },
    });
  }
  return endpoint;
}
