/**
 * Reading a small file that holds a secret (or a certificate) without being
 * fooled by it: a regular file only (a FIFO cannot hang the open: O_NONBLOCK),
 * optionally not through a symlink (O_NOFOLLOW, so the mode checked is the
 * file's own) and private (anything group or other may read or write is
 * refused, naming the file's mode and the chmod that fixes it), at most
 * `maxBytes`. `refuse(why, cause)` makes the caller's typed error, so the VDI
 * password (ATP_VDI_CREDENTIALS) and display passwords and CAs
 * (ATP_DISPLAY_CREDENTIALS) share these rules and keep their own codes.
 * Nothing read is ever put in an error.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export interface CheckedFileRules {
  maxBytes: number;
  /** Refuse a file group or other may read or write. */
  private: boolean;
  /** Refuse a symbolic link. */
  noFollow: boolean;
}

export async function readCheckedFile(file: string, rules: CheckedFileRules, refuse: (why: string, cause?: unknown) => Error): Promise<string> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | (rules.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'permission denied' : code === 'ELOOP' ? 'is a symbolic link (give the file itself)' : `cannot be opened (${code ?? String(error)})`;
    throw refuse(why, error);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refuse('is not a regular file');
    const mode = stat.mode & 0o777;
    if (rules.private && (mode & 0o077) !== 0) throw refuse(`is accessible by group or other (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${file}`);
    if (stat.size > rules.maxBytes) throw refuse(`is larger than ${rules.maxBytes} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** A one-line secret file's content: one trailing newline dropped; empty or several lines refused. */
export async function readSecretLine(file: string, maxBytes: number, refuse: (why: string, cause?: unknown) => Error): Promise<string> {
  const text = await readCheckedFile(file, { maxBytes, private: true, noFollow: true }, refuse);
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw refuse('is empty');
  if (/[\r\n]/.test(secret)) throw refuse('holds more than one line; it should hold the password only');
  return secret;
}
