/**
 * The HTTP API's bearer token for `atp-host serve` (not an agent token):
 * `--api-token-file FILE` (mode 0600, one line), else $ATP_API_TOKEN, else
 * the token kept in CONFIG_DIR/api-token, made (24 random bytes, base64url,
 * 0600, written atomically) the first time. The token is never printed:
 * serve prints where it is. Files readable by group or other are refused
 * (ATP_SECRET_SOURCE naming the file, its mode and `chmod 600 FILE`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { configDir, type ConfigLocation } from '../config/paths.js';
import { readSecretLine } from '../util/checked-file.js';

export const API_TOKEN_ENV = 'ATP_API_TOKEN';
const MAX_BYTES = 4096;

export interface ApiToken {
  token: string;
  /** Where it came from, for the startup line: a file path or the variable's name. */
  source: string;
  created: boolean;
}

const refusal =
  (file: string) =>
  (why: string, cause?: unknown): AtpError =>
    new AtpError('ATP_SECRET_SOURCE', `API token file ${file}: ${why}`, { details: { field: 'api-token-file', file }, ...(cause === undefined ? {} : { cause }) });

export async function apiToken(options: { file?: string; location?: ConfigLocation; env?: NodeJS.ProcessEnv } = {}): Promise<ApiToken> {
  if (options.file !== undefined) return { token: await readSecretLine(options.file, MAX_BYTES, refusal(options.file)), source: options.file, created: false };
  const fromEnv = (options.env ?? process.env)[API_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { token: fromEnv, source: `$${API_TOKEN_ENV}`, created: false };
  const file = path.join(configDir(options.location), 'api-token');
  try {
    return { token: await readSecretLine(file, MAX_BYTES, refusal(file)), source: file, created: false };
  } catch (error) {
    if (!(error instanceof AtpError) || !/does not exist/.test(error.message)) throw error;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temp, file);
  return { token, source: file, created: true };
}
