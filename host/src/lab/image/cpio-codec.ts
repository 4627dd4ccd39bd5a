/**
 * Writes (and, for tests, reads) the "newc" cpio format that the Linux kernel
 * unpacks as an initramfs. Hand-written on purpose: the format is a 110-byte
 * ASCII-hex header, the name, the data, each padded to 4 bytes, ended by a
 * TRAILER!!! entry. A dozen lines here spare the host a `cpio` package (not
 * installed on minimal Debian) and let us emit device nodes (/dev/console)
 * without root or mknod. Pure: entries in, byte chunks out.
 */
import { AtpError } from '@atp/protocol';

export type CpioEntry =
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const MAGIC = '070701';
const HEADER_BYTES = 110;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

const pad4 = (n: number): number => (4 - (n % 4)) % 4;
const hex8 = (n: number): string => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new AtpError('ATP_LAB_IMAGE', `cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
};

interface Header {
  ino: number;
  mode: number;
  nlink: number;
  fileSize: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

function header(h: Header): Uint8Array {
  const name = Buffer.from(`${h.name}\0`, 'utf8');
  const fields = [h.ino, h.mode, 0, 0, h.nlink, 0, h.fileSize, 0, 0, h.rdevMajor, h.rdevMinor, name.length, 0];
  const text = MAGIC + fields.map(hex8).join('');
  return Buffer.concat([Buffer.from(text, 'ascii'), name, Buffer.alloc(pad4(HEADER_BYTES + name.length))]);
}

/** Archive names are relative ("bin/sh"); a leading slash is dropped. */
function archiveName(p: string): string {
  const name = p.replace(/^\/+/, '');
  if (name === '' || name.split('/').some((part) => part === '..' || part === '')) {
    throw new AtpError('ATP_LAB_IMAGE', `invalid path for the initramfs: ${JSON.stringify(p)}`);
  }
  return name;
}

/** The archive as a sequence of chunks (concatenate or stream them). Entries keep their order. */
export function* encodeCpio(entries: Iterable<CpioEntry>): Generator<Uint8Array> {
  let ino = 1;
  for (const e of entries) {
    const name = archiveName(e.path);
    const base = { ino: ino++, rdevMajor: 0, rdevMinor: 0, name };
    if (e.kind === 'file') {
      yield header({ ...base, mode: S_IFREG | (e.mode ?? 0o644), nlink: 1, fileSize: e.data.length });
      yield e.data;
      yield new Uint8Array(pad4(e.data.length));
    } else if (e.kind === 'dir') {
      yield header({ ...base, mode: S_IFDIR | (e.mode ?? 0o755), nlink: 2, fileSize: 0 });
    } else if (e.kind === 'symlink') {
      const target = Buffer.from(e.target, 'utf8');
      yield header({ ...base, mode: S_IFLNK | 0o777, nlink: 1, fileSize: target.length });
      yield target;
      yield new Uint8Array(pad4(target.length));
    } else {
      yield header({ ...base, mode: S_IFCHR | (e.mode ?? 0o600), nlink: 1, fileSize: 0, rdevMajor: e.major, rdevMinor: e.minor });
    }
  }
  yield header({ ino: 0, mode: 0, nlink: 1, fileSize: 0, rdevMajor: 0, rdevMinor: 0, name: TRAILER });
}

export interface DecodedCpioEntry {
  name: string;
  mode: number;
  data: Uint8Array;
  rdevMajor: number;
  rdevMinor: number;
}

/** Reads a newc archive back (tests and debugging); stops at the trailer. */
export function decodeCpio(bytes: Uint8Array): DecodedCpioEntry[] {
  const out: DecodedCpioEntry[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (;;) {
    if (at + HEADER_BYTES > buf.length) throw new AtpError('ATP_LAB_IMAGE', 'cpio archive truncated (no trailer)');
    const text = buf.toString('ascii', at, at + HEADER_BYTES);
    if (!text.startsWith(MAGIC)) throw new AtpError('ATP_LAB_IMAGE', `bad cpio magic at offset ${at}`);
    const field = (i: number): number => Number.parseInt(text.slice(6 + i * 8, 14 + i * 8), 16);
    const nameSize = field(11);
    const fileSize = field(6);
    const nameStart = at + HEADER_BYTES;
    const name = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(HEADER_BYTES + nameSize);
    if (name === TRAILER) return out;
    out.push({ name, mode: field(1), data: bytes.subarray(dataStart, dataStart + fileSize), rdevMajor: field(9), rdevMinor: field(10) });
    at = dataStart + fileSize + pad4(fileSize);
  }
}
