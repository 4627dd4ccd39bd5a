/**
 * known_hosts on disk, and the refusal errors. Reading a missing file gives no
 * entries (every host unknown). Recording a key appends one line (the file is
 * created 0600, its directory 0700), and happens only when the caller asked
 * for it explicitly (`acceptNewHostKey`).
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { fingerprint, formatKnownHostLine, keyTypeOf, knownHostName, parseKnownHosts, type HostKeyVerdict, type KnownHostEntry } from './known-hosts.js';

/** The offered host key, as shown to users. */
export interface OfferedHostKey {
  type: string;
  fingerprint: string;
  blob: Buffer;
}

export function describeKey(blob: Buffer): OfferedHostKey {
  return { type: keyTypeOf(blob) ?? 'unknown', fingerprint: fingerprint(blob), blob };
}

export async function loadKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8')).entries;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AtpError('ATP_SSH_KEY_FILE', `cannot read known_hosts file ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { file } });
  }
}

/** Appends the key for host:port (on its own line) to `file`. */
export async function recordHostKey(file: string, host: string, port: number, blob: Buffer): Promise<string> {
  const line = formatKnownHostLine(host, port, blob);
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const before = await readFile(file, 'utf8').catch(() => '');
    await appendFile(file, `${before === '' || before.endsWith('\n') ? '' : '\n'}${line}\n`, { mode: 0o600 });
  } catch (cause) {
    throw new AtpError('ATP_SSH_KEY_FILE', `cannot write known_hosts file ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { file } });
  }
  return line;
}

/** The typed refusal for a verdict other than 'known'. */
export function hostKeyRefusal(verdict: Exclude<HostKeyVerdict, { status: 'known' }>, host: string, port: number, offered: OfferedHostKey, file: string): AtpError {
  const name = knownHostName(host, port);
  const details = { host, port, fingerprint: offered.fingerprint, keyType: offered.type, knownHostsFile: file };
  if (verdict.status === 'unknown') {
    const other = verdict.otherTypes.length > 0 ? ` (${file} knows only ${verdict.otherTypes.join(', ')} keys for it)` : '';
    return new AtpError(
      'ATP_SSH_HOST_KEY_UNKNOWN',
      `host key for ${name} is not in ${file}${other}; refused. It offered ${offered.type} ${offered.fingerprint}. If that is the right key, accept it explicitly: atp-host host add NAME --ssh USER@${host}:${port} --accept-new-host-key`,
      { details },
    );
  }
  const where = `${file}:${verdict.entry.line}`;
  if (verdict.status === 'revoked') {
    return new AtpError('ATP_SSH_HOST_KEY_CHANGED', `host ${name} offered a REVOKED ${offered.type} key ${offered.fingerprint} (@revoked at ${where}); refused`, { details: { ...details, line: verdict.entry.line, revoked: true } });
  }
  return new AtpError(
    'ATP_SSH_HOST_KEY_CHANGED',
    `HOST KEY CHANGED for ${name}: it offered ${offered.type} ${offered.fingerprint}, but ${where} holds ${verdict.entry.keyType} ${fingerprint(verdict.entry.key)}; refused (someone may be intercepting the connection, or the host was reinstalled: check, then remove the old line)`,
    { details: { ...details, line: verdict.entry.line, knownFingerprint: fingerprint(verdict.entry.key) } },
  );
}
