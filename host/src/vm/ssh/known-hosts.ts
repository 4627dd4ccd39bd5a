/**
 * OpenSSH known_hosts lines: parse, match a host against them, decide what an
 * offered host key means, format a new line. Hand-written because the format
 * is small and the npm packages for it are unmaintained or skip hashed names;
 * rules follow sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT":
 *  - `[@marker] patterns keytype base64-key [comment]`; markers @revoked and
 *    @cert-authority (CA lines never vouch for a plain host key here);
 *  - patterns are comma-separated; `*` and `?` glob; a leading `!` negates (a
 *    matching negation vetoes the line); a host on a port other than 22 is
 *    written `[host]:port`; names compare case-insensitively;
 *  - a hashed pattern `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
 * Fingerprints as `ssh-keygen -l` prints them: `SHA256:` + unpadded base64.
 * Pure (node:crypto for hashing only).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  patterns: string[];
  keyType: string;
  key: Buffer;
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[];
  /** Lines that are neither blank, comments nor valid entries (ignored, as OpenSSH does). */
  invalid: { line: number; reason: string }[];
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'unknown'; otherTypes: string[] }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry };

export function parseKnownHosts(text: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const invalid: { line: number; reason: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const lineNo = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return void invalid.push({ line: lineNo, reason: `unknown marker ${m ?? ''}` });
    }
    const [hosts, keyType, b64] = fields;
    if (hosts === undefined || keyType === undefined || b64 === undefined) return void invalid.push({ line: lineNo, reason: 'expected hosts, key type and key' });
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return void invalid.push({ line: lineNo, reason: 'key is not base64' });
    const key = Buffer.from(b64, 'base64');
    if (keyTypeOf(key) !== keyType) return void invalid.push({ line: lineNo, reason: `key blob is not a ${keyType} key` });
    entries.push({ line: lineNo, marker, patterns: hosts.split(','), keyType, key });
  });
  return { entries, invalid };
}

/** The name known_hosts uses for a host and port: `host`, or `[host]:port` off port 22. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type named inside an SSH public key blob (its first string), or undefined. */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:…` as OpenSSH prints it (base64 without padding). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function glob(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const parts = pattern.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const want = Buffer.from(parts[3] ?? '', 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Does this entry's pattern list name `name` (already in `[host]:port` form)? */
export function entryMatches(entry: Pick<KnownHostEntry, 'patterns'>, name: string): boolean {
  let matched = false;
  for (const p of entry.patterns) {
    if (p.startsWith('|')) {
      if (hashedMatch(p, name)) matched = true;
    } else if (p.startsWith('!')) {
      if (glob(p.slice(1), name)) return false;
    } else if (glob(p, name)) matched = true;
  }
  return matched;
}

const sameKey = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/** What an offered host key means for host:port, given the parsed file. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, offered: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  const revoked = entries.find((e) => e.marker === 'revoked' && sameKey(e.key, offered));
  if (revoked) return { status: 'revoked', entry: revoked };
  const mine = entries.filter((e) => e.marker === undefined && entryMatches(e, name));
  const exact = mine.find((e) => sameKey(e.key, offered));
  if (exact) return { status: 'known', entry: exact };
  const type = keyTypeOf(offered);
  const sameType = mine.find((e) => e.keyType === type);
  if (sameType) return { status: 'changed', entry: sameType };
  return { status: 'unknown', otherTypes: [...new Set(mine.map((e) => e.keyType))] };
}

/** Key types known for host:port (to ask the server for those first). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostName(host, port);
  return [...new Set(entries.filter((e) => e.marker === undefined && entryMatches(e, name)).map((e) => e.keyType))];
}

/** The host-key algorithm names that produce keys of `keyType`. */
export function hostKeyAlgorithms(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

/** A hashed host pattern for `name` (as `ssh-keygen -H` writes). */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/** One known_hosts line (no newline) for a key offered by host:port. */
export function formatKnownHostLine(host: string, port: number, blob: Buffer, options: { hash?: boolean } = {}): string {
  const name = knownHostName(host, port);
  const type = keyTypeOf(blob) ?? 'unknown';
  return `${options.hash ? hashHostName(name) : name} ${type} ${blob.toString('base64')}`;
}
