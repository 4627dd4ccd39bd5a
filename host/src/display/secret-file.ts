/**
 * Reading a display password and a CA certificate for endpoints given by URL.
 *
 * The password comes from a file or an environment variable, never a flag or
 * the URL (ps and shell history would show it). The file follows the rules of
 * the VDI platform password (both through util/checked-file.ts): a regular file, not a symlink
 * (O_NOFOLLOW), mode 0600 or stricter (anything group/other may read or write
 * is refused, naming the file and its mode), at most 4 KiB, one line (one
 * trailing newline is dropped), not empty. An environment variable that is
 * set but empty is an error too. Errors are ATP_DISPLAY_CREDENTIALS naming the
 * source, never the content. Unlike the VDI password there is no prompt: no
 * password is a valid answer (SPICE then sends an empty ticket, VNC expects
 * security None).
 *
 * The CA is public: any readable regular file up to 64 KiB holding a PEM
 * certificate that parses.
 */
import { X509Certificate } from 'node:crypto';
import { AtpError } from '@atp/protocol';
import { readCheckedFile, readSecretLine } from '../util/checked-file.js';
import { DISPLAY_PASSWORD_ENV } from './endpoint-url.js';
const MAX_PASSWORD_FILE_BYTES = 4096;
const MAX_CA_FILE_BYTES = 64 * 1024;

type Env = Readonly<Record<string, string | undefined>>;

export interface DisplayPasswordSources {
  /** A password file (mode 0600); wins over the environment. */
  file?: string;
  /** The variable to read (default ATP_DISPLAY_PASSWORD). */
  envVar?: string;
  env?: Env;
}

export type DisplayPasswordOrigin = 'file' | 'env' | 'none';

function credentialsError(message: string, details: Record<string, unknown>, cause?: unknown): AtpError {
  return new AtpError('ATP_DISPLAY_CREDENTIALS', message, { details, ...(cause === undefined ? {} : { cause }) });
}

/** The caller's refusal for `what` in `file` (util/checked-file.ts applies the rules). */
const refusal =
  (what: string, file: string) =>
  (why: string, cause?: unknown): AtpError =>
    credentialsError(`${what} file ${file}: ${why}`, { source: 'file', file }, cause);

/** A password file's password (the rules in the header). */
export function readDisplayPasswordFile(file: string): Promise<string> {
  return readSecretLine(file, MAX_PASSWORD_FILE_BYTES, refusal('display password', file));
}

/** The password from the file, else the variable, else none. */
export async function readDisplayPassword(sources: DisplayPasswordSources = {}): Promise<{ password?: string; origin: DisplayPasswordOrigin }> {
  if (sources.file !== undefined) return { password: await readDisplayPasswordFile(sources.file), origin: 'file' };
  const envVar = sources.envVar ?? DISPLAY_PASSWORD_ENV;
  const value = (sources.env ?? process.env)[envVar];
  if (value === undefined) return { origin: 'none' };
  if (value === '') throw credentialsError(`${envVar} is set but empty (unset it for no password)`, { source: envVar });
  return { password: value, origin: 'env' };
}

/** A CA certificate file's PEM text. */
export async function readCaFile(file: string): Promise<string> {
  const pem = await readCheckedFile(file, { maxBytes: MAX_CA_FILE_BYTES, private: false, noFollow: false }, refusal('CA certificate', file));
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no BEGIN CERTIFICATE line');
    new X509Certificate(pem);
  } catch (cause) {
    throw credentialsError(`CA certificate file ${file}: is not a PEM certificate (${cause instanceof Error ? cause.message : String(cause)})`, { source: 'file', file }, cause);
  }
  return pem;
}
