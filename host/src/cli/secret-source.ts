/**
 * Where a command-line secret (the agent token) comes from, in this order:
 *  1. `--X-file FILE`: a regular file, not a symlink, that group and other may
 *     neither read nor write (util/checked-file.ts), one line;
 *  2. `--X-stdin`: one line read from standard input (the rest of the input is
 *     left for the command, e.g. `interactive`'s own lines);
 *  3. the environment variable ($ATP_TOKEN);
 *  4. `--X VALUE`: accepted, with a warning on stderr naming the safer sources
 *     (a command line is visible to every user of the host in `ps`).
 * Giving two of the flags is refused; a variable that is set wins over `--X`
 * (with a warning that the flag was ignored). Every refusal is ATP_SECRET_SOURCE
 * naming the source, never the secret. `secretRedactor` turns the secrets a
 * command holds into a filter for what it prints: the last line of defence
 * behind sources that never put a secret into a message.
 * Action code (it needs @atp/protocol): command definitions never import it.
 */
import { AtpError } from '@atp/protocol';
import { readSecretLine } from '../util/checked-file.js';

export const AGENT_TOKEN_ENV = 'ATP_TOKEN';
const MAX_BYTES = 4096;

/** One secret's names: the flag stem (`token` → --token, --token-file, --token-stdin) and its variable. */
export interface SecretSpec {
  flag: string;
  env: string;
  /** For messages: "agent token". */
  what: string;
}

export const AGENT_TOKEN: SecretSpec = { flag: 'token', env: AGENT_TOKEN_ENV, what: 'agent token' };

/** The flags as commander gives them (`--token-file` → tokenFile). */
export interface SecretFlags {
  value?: string;
  file?: string;
  stdin?: boolean;
}

export interface ResolvedSecret {
  value: string;
  /** Where it came from, for messages: `--token-file F`, `standard input`, `$ATP_TOKEN` or `--token`. */
  source: string;
}

export interface SecretContext {
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadableStream;
  /** A line (without newline) for stderr. */
  warn: (line: string) => void;
}

const refusal = (spec: SecretSpec, source: string, field: string) => (why: string, cause?: unknown): AtpError =>
  new AtpError('ATP_SECRET_SOURCE', `${spec.what} ${source}: ${why}`, { details: { field, source }, ...(cause === undefined ? {} : { cause }) });

/** The secret from the first source given, or undefined when none is. */
export async function resolveSecret(spec: SecretSpec, flags: SecretFlags, context: SecretContext): Promise<ResolvedSecret | undefined> {
  const given = [flags.file === undefined ? undefined : `--${spec.flag}-file`, flags.stdin === true ? `--${spec.flag}-stdin` : undefined, flags.value === undefined ? undefined : `--${spec.flag}`].filter(
    (f): f is string => f !== undefined,
  );
  if (given.length > 1) throw refusal(spec, 'on the command line', `--${spec.flag}`)(`give one of ${given.join(', ')}, not several`);
  if (flags.file !== undefined) {
    const source = `--${spec.flag}-file ${flags.file}`;
    return { value: await readSecretLine(flags.file, MAX_BYTES, refusal(spec, `file ${flags.file}`, `--${spec.flag}-file`)), source };
  }
  if (flags.stdin === true) return { value: await readStdinSecret(spec, context.stdin ?? process.stdin), source: 'standard input' };
  const fromEnv = (context.env ?? process.env)[spec.env];
  if (fromEnv !== undefined && fromEnv !== '') {
    checkValue(spec, fromEnv, `$${spec.env}`);
    if (flags.value !== undefined) context.warn(`warning: --${spec.flag} ignored: $${spec.env} is set and comes first`);
    return { value: fromEnv, source: `$${spec.env}` };
  }
  if (flags.value === undefined) return undefined;
  checkValue(spec, flags.value, `--${spec.flag}`);
  context.warn(`warning: --${spec.flag} puts the ${spec.what} on the command line, where every user of this host sees it (ps); use --${spec.flag}-file FILE (mode 0600), --${spec.flag}-stdin or $${spec.env}`);
  return { value: flags.value, source: `--${spec.flag}` };
}

function checkValue(spec: SecretSpec, value: string, source: string): void {
  if (value.length === 0 || value.length > MAX_BYTES || /[\s\p{Cc}]/u.test(value)) {
    throw refusal(spec, `from ${source}`, source)(`expected 1 to ${MAX_BYTES} characters without spaces or control characters`);
  }
}

/** One line from `input` (at most MAX_BYTES); what follows the line is pushed back for the command. */
export async function readStdinSecret(spec: SecretSpec, input: NodeJS.ReadableStream): Promise<string> {
  const fail = refusal(spec, 'from standard input', `--${spec.flag}-stdin`);
  const chunks: Buffer[] = [];
  let size = 0;
  const line = await new Promise<Buffer | undefined>((resolve, reject) => {
    const done = (result: Buffer | undefined, error?: Error): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      if (error !== undefined) reject(error);
      else resolve(result);
    };
    const onData = (data: Buffer | string): void => {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      const newline = chunk.indexOf(0x0a);
      if (newline < 0) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > MAX_BYTES) done(undefined, fail(`the first line is longer than ${MAX_BYTES} bytes`));
        return;
      }
      chunks.push(chunk.subarray(0, newline));
      const rest = chunk.subarray(newline + 1);
      done(Buffer.concat(chunks));
      if (rest.length > 0) input.unshift(rest);
    };
    const onEnd = (): void => done(chunks.length === 0 ? undefined : Buffer.concat(chunks));
    const onError = (error: Error): void => done(undefined, fail(`cannot be read (${error.message})`, error));
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
  const value = line?.toString('utf8').replace(/\r$/, '');
  if (value === undefined || value === '') throw fail('is empty (expected the secret on the first line)');
  checkValue(spec, value, 'standard input');
  return value;
}

/** The agent-token flags of verify, serve, watch and interactive, as commander gives them. */
export interface AgentTokenFlags {
  token?: string;
  tokenFile?: string;
  tokenStdin?: boolean;
}

export const tokenFlagGiven = (flags: AgentTokenFlags): boolean => flags.token !== undefined || flags.tokenFile !== undefined || flags.tokenStdin === true;

/** The agent token from the flags, stdin or $ATP_TOKEN (resolveSecret), or undefined when none is given. */
export async function agentTokenOf(flags: AgentTokenFlags, context: SecretContext): Promise<string | undefined> {
  return (await resolveSecret(AGENT_TOKEN, { value: flags.token, file: flags.tokenFile, stdin: flags.tokenStdin }, context))?.value;
}

/** The encodings a secret may travel in: raw, base64 (both alphabets, with and without padding) and URL-encoded. */
export function secretForms(secret: string): string[] {
  const base64 = Buffer.from(secret, 'utf8').toString('base64');
  const forms = [secret, base64, base64.replace(/=+$/, ''), Buffer.from(secret, 'utf8').toString('base64url'), encodeURIComponent(secret)];
  return [...new Set(forms.filter((f) => f.length >= 8))];
}

/** A filter that replaces every form of the given secrets (secretForms) with `<redacted>`; secrets under 8 characters are left alone (they would mangle ordinary text). */
export function secretRedactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const forms = secrets.flatMap((s) => (s === undefined || s.length < 8 ? [] : secretForms(s))).sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join('<redacted>');
    return out;
  };
}

/** `io` with every form of the secrets replaced in what it prints. */
export function redactingIo<T extends { out: (text: string) => void; err: (text: string) => void }>(io: T, secrets: readonly (string | undefined)[]): T {
  const redact = secretRedactor(secrets);
  return { ...io, out: (text: string) => io.out(redact(text)), err: (text: string) => io.err(redact(text)) };
}
