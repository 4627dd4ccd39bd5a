/**
 * Ids as the platform writes them: UUID strings. Random ones for what the API
 * creates (pools, clones, events), stable ones (name-based, SHA-1, in
 * the shape of an RFC 4122 version 5 UUID) for what the seed describes, so a
 * restarted simulator gives the same OU and user ids. Pure.
 */
import { createHash, randomUUID } from 'node:crypto';

export function newId(): string {
  return randomUUID();
}

/** The same UUID string for the same `kind` and `name`, every run. */
export function stableUuid(kind: string, name: string): string {
  const b = createHash('sha1').update(`atp-vdi-sim\0${kind}\0${name}`).digest().subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
