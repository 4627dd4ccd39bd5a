/**
 * Reading the agent token from a token file or standard input (`--token-file -`
 * or `--token-stdin`). A token file must be a regular file that group and
 * other may neither read nor write (checked on the file opened; not on
 * Windows, where mode bits mean nothing: there the installer's ACL guards it);
 * otherwise ATP_AGENT_CONFIG names the file, its mode and `chmod 600 FILE`.
 * From standard input the first line is the token and the rest stays in the
 * stream (the stdin-json capture reads it). Errors name the source, never the
 * token.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AtpError } from '@atp/protocol';

export const MAX_TOKEN_CHARS = 4096;
/** `--token-file -`: standard input. */
export const STDIN_TOKEN_FILE = '-';

const configError = (message: string, details: Record<string, unknown>, cause?: unknown): AtpError =>
  new AtpError('ATP_AGENT_CONFIG', message, { details, ...(cause === undefined ? {} : { cause }) });

function checked(token: string, where: string, details: Record<string, unknown>): string {
  if (token === '' || token.length > MAX_TOKEN_CHARS || /\p{Cc}/u.test(token)) {
    throw configError(`${where}: expected one token of 1 to ${MAX_TOKEN_CHARS} characters on one line`, details);
  }
  return token;
}

/** The token in `file` (or standard input for `-`); `setBy` names the source that gave the file. */
export async function readTokenFile(file: string, setBy: string, options: { stdin?: NodeJS.ReadableStream; platform?: NodeJS.Platform } = {}): Promise<string> {
  if (file === STDIN_TOKEN_FILE) return readTokenLine(options.stdin ?? process.stdin, setBy);
  const where = `tokenFile ${file} (set by ${setBy})`;
  const details = { file, field: 'tokenFile' };
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    throw configError(`${where}: cannot read it: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, details, cause);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw configError(`${where}: not a regular file`, details);
    const mode = stat.mode & 0o777;
    if ((options.platform ?? process.platform) !== 'win32' && (mode & 0o077) !== 0) {
      const octal = mode.toString(8).padStart(4, '0');
      throw configError(`${where}: group or other may read or write it (mode ${octal}); run chmod 600 ${file}`, { ...details, mode: octal });
    }
    if (stat.size > MAX_TOKEN_CHARS + 2) throw configError(`${where}: expected one token of 1 to ${MAX_TOKEN_CHARS} characters`, details);
    return checked((await handle.readFile('utf8')).trim(), where, details);
  } finally {
    await handle.close();
  }
}

/** The first line of `input` (the rest is pushed back into the stream). */
export async function readTokenLine(input: NodeJS.ReadableStream, setBy: string): Promise<string> {
  const where = `token from standard input (set by ${setBy})`;
  const details = { field: 'tokenFile', source: 'stdin' };
  const chunks: Buffer[] = [];
  let size = 0;
  const line = await new Promise<string>((resolve, reject) => {
    const finish = (error: Error | undefined, rest?: Buffer): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      if (rest !== undefined && rest.length > 0) input.unshift(rest);
      if (error === undefined) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(error);
    };
    const onData = (data: Buffer | string): void => {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      const newline = chunk.indexOf(0x0a);
      chunks.push(newline < 0 ? chunk : chunk.subarray(0, newline));
      size += newline < 0 ? chunk.length : newline;
      if (size > MAX_TOKEN_CHARS + 1) finish(configError(`${where}: the first line is longer than ${MAX_TOKEN_CHARS} characters`, details));
      else if (newline >= 0) finish(undefined, chunk.subarray(newline + 1));
    };
    const onEnd = (): void => finish(undefined);
    const onError = (error: Error): void => finish(configError(`${where}: cannot read it: ${error.message}`, details, error));
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
  return checked(line.replace(/\r$/, ''), where, details);
}
