/**
 * Where the platform password comes from: never a command-line flag (ps and
 * shell history would show it). In order:
 * 1. a password file named by the caller: a regular file of mode 0600 or
 *    stricter (anything group/other may read or write is refused, naming the
 *    file and its mode, as ssh does with keys), at most 4 KiB, one line;
 * 2. the environment variable ATP_VDI_PASSWORD (or one the caller names);
 * 3. a prompt on the terminal, without echo, when stdin is a TTY.
 * Otherwise ATP_VDI_CREDENTIALS says what to do. The password is returned,
 * never logged; errors name the source, not the content.
 */
import { AtpError } from '@atp/protocol';
import { readSecretLine } from '../util/checked-file.js';

export const PASSWORD_ENV = 'ATP_VDI_PASSWORD';
const MAX_FILE_BYTES = 4096;

export type PasswordOrigin = 'file' | 'env' | 'prompt';

/** The terminal side of a prompt: a TTY input (raw mode) and where the question goes. */
export interface PromptStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: NodeJS.WritableStream;
}

export interface PasswordSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  envVar?: string;
  /** Default process.stdin / process.stderr; false: never prompt. */
  prompt?: PromptStreams | false;
  /** Shown in the prompt, e.g. `admin@10.0.0.1`. */
  label?: string;
}

/** The password and where it came from. */
export async function readPassword(sources: PasswordSources = {}): Promise<{ password: string; origin: PasswordOrigin }> {
  if (sources.file !== undefined) return { password: await readPasswordFile(sources.file), origin: 'file' };
  const envVar = sources.envVar ?? PASSWORD_ENV;
  const fromEnv = (sources.env ?? process.env)[envVar];
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new AtpError('ATP_VDI_CREDENTIALS', `${envVar} is set but empty`, { details: { source: envVar } });
    return { password: fromEnv, origin: 'env' };
  }
  const streams = sources.prompt === undefined ? { input: process.stdin, output: process.stderr } : sources.prompt;
  if (streams !== false && streams.input.isTTY === true && typeof streams.input.setRawMode === 'function') {
    const question = `OCloudView password${sources.label === undefined ? '' : ` for ${sources.label}`}: `;
    return { password: await promptPassword(streams, question), origin: 'prompt' };
  }
  throw new AtpError('ATP_VDI_CREDENTIALS', `no platform password: set ${envVar}, give a password file (mode 0600), or run on a terminal to be asked`, { details: { source: 'none' } });
}

/** Reads a password file, refusing one that group or other may read or write (util/checked-file.ts). */
export function readPasswordFile(file: string): Promise<string> {
  return readSecretLine(file, MAX_FILE_BYTES, (why, cause) => new AtpError('ATP_VDI_CREDENTIALS', `password file ${file}: ${why}`, { details: { source: 'file', file }, ...(cause === undefined ? {} : { cause }) }));
}

/** State of a no-echo prompt: the text so far, and whether Enter or Ctrl-C/Ctrl-D ended it. */
export interface PromptState {
  text: string;
  done: 'enter' | 'cancel' | undefined;
}

/** Applies typed characters (raw mode) to the prompt: Enter ends, Backspace erases, Ctrl-C or Ctrl-D on an empty line cancels. */
export function promptKeys(state: PromptState, chunk: string): PromptState {
  let text = state.text;
  for (const ch of chunk) {
    if (ch === '\r' || ch === '\n') return { text, done: 'enter' };
    if (ch === '\u0003' || (ch === '\u0004' && text === '')) return { text: '', done: 'cancel' };
    if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
    else if (ch >= ' ') text += ch;
  }
  return { text, done: undefined };
}

/** Asks on the terminal without echo (raw mode, restored afterwards). */
export function promptPassword(streams: PromptStreams, question: string): Promise<string> {
  const { input, output } = streams;
  return new Promise((resolve, reject) => {
    let state: PromptState = { text: '', done: undefined };
    const finish = (): void => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
    };
    const onData = (data: Buffer | string): void => {
      state = promptKeys(state, typeof data === 'string' ? data : data.toString('utf8'));
      if (state.done === undefined) return;
      finish();
      if (state.done === 'cancel') reject(new AtpError('ATP_VDI_CREDENTIALS', 'password prompt cancelled', { details: { source: 'prompt' } }));
      else if (state.text === '') reject(new AtpError('ATP_VDI_CREDENTIALS', 'empty password entered at the prompt', { details: { source: 'prompt' } }));
      else resolve(state.text);
    };
    output.write(question);
    input.setRawMode?.(true);
    input.on('data', onData);
    input.resume();
  });
}
