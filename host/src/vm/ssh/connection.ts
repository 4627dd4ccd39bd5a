/**
 * SshConnection: one ssh2 Client, connected with strict host-key checking.
 * - Auth: a private key file, or the agent at SSH_AUTH_SOCK (or both).
 * - Host key: checked against known_hosts (known-hosts.ts). An unknown key is
 *   refused (ATP_SSH_HOST_KEY_UNKNOWN) unless `acceptNewHostKey` is set, which
 *   records it after the handshake; a changed or revoked key is always refused
 *   (ATP_SSH_HOST_KEY_CHANGED). Both messages print the offered fingerprint.
 * - Channels: exec (argv quoted for the remote POSIX shell, see shell-quote.ts)
 *   and direct-streamlocal to a remote unix socket (a Duplex for QMP, QGA,
 *   agent channels). Every failure is an AtpError with an ATP_SSH_* code.
 */
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { AtpError } from '@atp/protocol';
import { describeKey, hostKeyRefusal, loadKnownHosts, recordHostKey, type OfferedHostKey } from './host-keys.js';
import { checkHostKey, hostKeyAlgorithms, knownHostName, knownKeyTypes } from './known-hosts.js';
import { shellCommandWithEnv } from './shell-quote.js';

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** Private key file (unencrypted: nothing prompts for a passphrase). */
  identityFile?: string | undefined;
  /** Use the agent at SSH_AUTH_SOCK (true) or at this socket path. */
  agent?: boolean | string | undefined;
  knownHostsFile: string;
  /** Bound on TCP connect + handshake + auth (default 10000 ms). */
  connectTimeoutMs?: number | undefined;
}

export interface SshConnectOptions {
  /** Record an unknown host key in knownHostsFile (never a changed one). */
  acceptNewHostKey?: boolean;
  /** SSH-level keepalive interval (default 5000 ms; 0 disables) and unanswered count before disconnect (default 3). */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Told when a new host key was recorded. */
  onHostKeyRecorded?: (key: OfferedHostKey, line: string, file: string) => void;
}

export interface ExecOptions {
  /** Environment for the command (sent as `env K=V …`: sshd refuses most env requests). */
  env?: Readonly<Record<string, string>>;
}

const { Client, utils } = ssh2;
/** How long a failed channel waits to see whether the whole connection is going down. */
export const CHANNEL_FAILURE_GRACE_MS = 100;
type SshClient = InstanceType<typeof Client>;

function message(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

async function authConfig(endpoint: SshEndpoint): Promise<Pick<ConnectConfig, 'privateKey' | 'agent'>> {
  const out: Pick<ConnectConfig, 'privateKey' | 'agent'> = {};
  if (endpoint.identityFile !== undefined) {
    const file = endpoint.identityFile;
    let key: Buffer;
    try {
      key = await readFile(file);
    } catch (cause) {
      throw new AtpError('ATP_SSH_KEY_FILE', `cannot read identity file ${file}: ${message(cause)}`, { cause, details: { file } });
    }
    const parsed = utils.parseKey(key);
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (first === undefined || first instanceof Error || !first.isPrivateKey()) {
      const why = first instanceof Error ? first.message : 'not a private key';
      throw new AtpError('ATP_SSH_KEY_FILE', `identity file ${file} is not a usable private key: ${why}`, { cause: first instanceof Error ? first : undefined, details: { file } });
    }
    out.privateKey = key;
  }
  if (endpoint.agent !== undefined && endpoint.agent !== false) {
    const sock = typeof endpoint.agent === 'string' ? endpoint.agent : process.env.SSH_AUTH_SOCK;
    if (sock === undefined || sock === '') throw new AtpError('ATP_SSH_KEY_FILE', 'agent authentication asked for, but SSH_AUTH_SOCK is not set', { details: {} });
    out.agent = sock;
  }
  if (out.privateKey === undefined && out.agent === undefined) throw new AtpError('ATP_SSH_AUTH', `no identity file and no agent configured for ${endpoint.user}@${endpoint.host}`, { details: { host: endpoint.host } });
  return out;
}

const HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/** Moves the algorithms of key types known_hosts holds for the host to the front (ssh2's `prepend` skips ones already listed: remove first). */
function preferKnownTypes(types: readonly string[]): Pick<ConnectConfig, 'algorithms'> {
  const wanted = HOST_KEY_ALGORITHMS.filter((a) => types.some((t) => hostKeyAlgorithms(t).includes(a)));
  if (wanted.length === 0) return {};
  return { algorithms: { serverHostKey: { remove: wanted, prepend: wanted, append: [] } } };
}

export class SshConnection {
  private closedBy: AtpError | undefined;
  private readonly closeListeners = new Set<(error: AtpError) => void>();

  private constructor(
    private readonly client: SshClient,
    readonly endpoint: SshEndpoint,
    /** The host key the server proved it holds. */
    readonly hostKey: OfferedHostKey,
  ) {
    const lost = (why: string, cause?: unknown): void => this.finish(new AtpError('ATP_SSH_DISCONNECTED', `SSH connection to ${this.label} ${why}`, { cause, details: { host: endpoint.host, port: endpoint.port } }));
    client.on('error', (e) => lost(`failed: ${e.message}`, e));
    client.on('close', () => lost('closed'));
  }

  get label(): string {
    return `${this.endpoint.user}@${knownHostName(this.endpoint.host, this.endpoint.port)}`;
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** Called once when the connection ends (ATP_SSH_DISCONNECTED, or ATP_SSH_CLOSED after close()). */
  onClose(listener: (error: AtpError) => void): () => void {
    if (this.closedBy) listener(this.closedBy);
    else this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  static async connect(endpoint: SshEndpoint, options: SshConnectOptions = {}): Promise<SshConnection> {
    const auth = await authConfig(endpoint);
    const entries = await loadKnownHosts(endpoint.knownHostsFile);
    const known = knownKeyTypes(entries, endpoint.host, endpoint.port);
    const client = new Client();
    let offered: OfferedHostKey | undefined;
    let refusal: AtpError | undefined;
    const config: ConnectConfig = {
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      ...auth,
      readyTimeout: endpoint.connectTimeoutMs ?? 10_000,
      keepaliveInterval: options.keepaliveIntervalMs ?? 5000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      // Ask first for the key types known_hosts holds for this host, as OpenSSH does.
      ...preferKnownTypes(known),
      hostVerifier: (blob: Buffer): boolean => {
        offered = describeKey(Buffer.from(blob));
        const verdict = checkHostKey(entries, endpoint.host, endpoint.port, offered.blob);
        if (verdict.status === 'known') return true;
        if (verdict.status === 'unknown' && options.acceptNewHostKey === true) return true;
        refusal = hostKeyRefusal(verdict, endpoint.host, endpoint.port, offered, endpoint.knownHostsFile);
        return false;
      },
    };
    const label = `${endpoint.user}@${knownHostName(endpoint.host, endpoint.port)}`;
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error & { level?: string }): void => {
        client.removeListener('ready', ready);
        client.removeListener('close', closedEarly);
        if (failed) return;
        failed = true;
        // A refused handshake can be followed by a second error (the server resetting the
        // socket we are ending): without a listener it would be an uncaught exception.
        client.on('error', () => undefined);
        client.end();
        if (refusal) return reject(refusal);
        const details = { host: endpoint.host, port: endpoint.port, level: e.level };
        if (e.level === 'client-authentication') reject(new AtpError('ATP_SSH_AUTH', `SSH authentication as ${label} failed: ${e.message}`, { cause: e, details }));
        else if (e.level === 'agent') reject(new AtpError('ATP_SSH_KEY_FILE', `SSH agent failed: ${e.message}`, { cause: e, details }));
        else reject(new AtpError('ATP_SSH_CONNECT', `cannot connect to ${label}: ${e.message}`, { cause: e, details }));
      };
      const ready = (): void => {
        client.removeListener('error', fail);
        client.removeListener('close', closedEarly);
        resolve();
      };
      const closedEarly = (): void => fail(new Error('connection closed during the handshake'));
      client.once('ready', ready);
      client.on('error', fail);
      client.once('close', closedEarly);
      try {
        client.connect(config);
        client.setNoDelay(true);
      } catch (cause) {
        fail(cause instanceof Error ? cause : new Error(String(cause)));
      }
    });
    if (offered === undefined) throw new AtpError('ATP_SSH_CONNECT', `${label}: no host key was verified`, { details: { host: endpoint.host } });
    const connection = new SshConnection(client, endpoint, offered);
    const verdict = checkHostKey(entries, endpoint.host, endpoint.port, offered.blob);
    if (verdict.status === 'unknown' && options.acceptNewHostKey === true) {
      try {
        const line = await recordHostKey(endpoint.knownHostsFile, endpoint.host, endpoint.port, offered.blob);
        options.onHostKeyRecorded?.(offered, line, endpoint.knownHostsFile);
      } catch (error) {
        connection.close();
        throw error;
      }
    }
    return connection;
  }

  private finish(error: AtpError): void {
    if (this.closedBy) return;
    this.closedBy = error;
    for (const l of [...this.closeListeners]) l(error);
    this.closeListeners.clear();
  }

  private notOpen(what: string): AtpError | undefined {
    const by = this.closedBy;
    if (!by) return undefined;
    return new AtpError(by.code === 'ATP_SSH_CLOSED' ? 'ATP_SSH_CLOSED' : 'ATP_SSH_DISCONNECTED', `${what} on ${this.label}: the connection is ${by.code === 'ATP_SSH_CLOSED' ? 'closed' : 'lost'}`, { cause: by, details: { host: this.endpoint.host } });
  }

  /** Opens an exec channel running `argv` (quoted for the remote shell); its stdin/stdout are the channel, stderr is `channel.stderr`. */
  execChannel(argv: readonly string[], options: ExecOptions = {}): Promise<ClientChannel> {
    const command = shellCommandWithEnv(options.env ?? {}, argv);
    return this.open(`exec ${argv[0] ?? ''}`, (cb) => this.client.exec(command, cb));
  }

  /** A Duplex to the unix socket at `socketPath` on the remote host (OpenSSH direct-streamlocal). */
  forwardUnix(socketPath: string): Promise<Duplex> {
    return this.open(`forward to ${socketPath}`, (cb) => this.client.openssh_forwardOutStreamLocal(socketPath, cb));
  }

  private open(what: string, start: (cb: (err: Error | undefined, channel: ClientChannel) => void) => void): Promise<ClientChannel> {
    const closed = this.notOpen(what);
    if (closed) return Promise.reject(closed);
    return new Promise((resolve, reject) => {
      const onLost = this.onClose((e) => reject(new AtpError(e.code === 'ATP_SSH_CLOSED' ? 'ATP_SSH_CLOSED' : 'ATP_SSH_DISCONNECTED', `${what} on ${this.label}: connection ended while opening the channel`, { cause: e, details: { host: this.endpoint.host } })));
      try {
        start((err, channel) => {
          if (!err) {
            onLost();
            resolve(channel);
            return;
          }
          // A request cut short by a dying connection fails just before the socket closes: wait briefly to tell which.
          setTimeout(() => {
            onLost();
            reject(this.notOpen(what) ?? new AtpError('ATP_SSH_CHANNEL', `${what} on ${this.label}: ${err.message}`, { cause: err, details: { host: this.endpoint.host } }));
          }, CHANNEL_FAILURE_GRACE_MS);
        });
      } catch (cause) {
        onLost();
        // ssh2 throws "Not connected" once the socket is gone, a moment before it reports the close.
        const gone = message(cause) === 'Not connected';
        reject(this.notOpen(what) ?? new AtpError(gone ? 'ATP_SSH_DISCONNECTED' : 'ATP_SSH_CHANNEL', `${what} on ${this.label}: ${message(cause)}`, { cause, details: { host: this.endpoint.host } }));
      }
    });
  }

  close(): void {
    this.finish(new AtpError('ATP_SSH_CLOSED', `SSH connection to ${this.label} was closed by its owner`, { details: { host: this.endpoint.host } }));
    this.client.end();
  }

  /** Drops the TCP connection at once (a failed heartbeat). */
  destroy(reason: AtpError): void {
    this.finish(reason);
    this.client.destroy();
  }
}
