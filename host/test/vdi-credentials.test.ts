/**
 * Where the platform password comes from (host/src/vdi/credentials.ts), on
 * real files in a temp dir: mode 0600 accepted, group/other access refused
 * naming the file, the other bad files refused; the environment variable; no
 * terminal → a typed error saying what to do. The password never appears in
 * an error.
 */
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { readPassword, readPasswordFile } from '../src/vdi/credentials.js';

const SECRET = 'S3cret-pass w0rd';

describe('platform password sources', () => {
  let dir = '';
  const file = (name: string): string => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vdi-cred-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, text: string, mode: number): Promise<string> {
    await writeFile(file(name), text, { mode });
    await chmod(file(name), mode); // the umask may have narrowed the mode given to writeFile
    return file(name);
  }

  async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
    const error = (await p.then(() => undefined, (e: unknown) => e)) as { code: string; message: string; details: Record<string, unknown> } | undefined;
    if (!error) throw new Error('expected a refusal');
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(SECRET);
    return error;
  }

  it('reads a mode 0600 file (and 0400), dropping one final newline', async () => {
    expect(await readPasswordFile(await write('ok', `${SECRET}\n`, 0o600))).toBe(SECRET);
    expect(await readPasswordFile(await write('ro', `${SECRET}\r\n`, 0o400))).toBe(SECRET);
    expect(await readPassword({ file: file('ok'), env: { ATP_VDI_PASSWORD: 'other' } })).toEqual({ password: SECRET, origin: 'file' });
  });

  it.each([0o640, 0o604, 0o644, 0o660, 0o606, 0o777])('refuses mode %o, naming the file and the mode', async (mode) => {
    const name = await write(`m${mode.toString(8)}`, SECRET, mode);
    const error = await refusal(readPasswordFile(name));
    expect(error.code).toBe('ATP_VDI_CREDENTIALS');
    expect(error.message).toContain(name);
    expect(error.message).toContain(`mode ${mode.toString(8).padStart(4, '0')}`);
    expect(error.message).toContain('chmod 600');
  });

  it('refuses a missing file, a directory, a symlink, an empty file and several lines', async () => {
    expect((await refusal(readPasswordFile(file('missing')))).message).toBe(`password file ${file('missing')}: does not exist`);
    expect((await refusal(readPasswordFile(dir))).message).toContain('is not a regular file');
    await symlink(file('ok'), file('link'));
    expect((await refusal(readPasswordFile(file('link')))).message).toContain('symbolic link');
    expect((await refusal(readPasswordFile(await write('empty', '\n', 0o600)))).message).toContain('is empty');
    expect((await refusal(readPasswordFile(await write('two', `${SECRET}\nmore\n`, 0o600)))).message).toContain('more than one line');
  });

  it('takes the environment variable when no file is named; an empty one is refused', async () => {
    expect(await readPassword({ env: { ATP_VDI_PASSWORD: SECRET }, prompt: false })).toEqual({ password: SECRET, origin: 'env' });
    expect(await readPassword({ env: { MY_PW: SECRET }, envVar: 'MY_PW', prompt: false })).toEqual({ password: SECRET, origin: 'env' });
    expect((await refusal(readPassword({ env: { ATP_VDI_PASSWORD: '' }, prompt: false }))).message).toBe('ATP_VDI_PASSWORD is set but empty');
  });

  it('without file, variable or terminal, says how to give one', async () => {
    const notTty = { input: new PassThrough(), output: new PassThrough() };
    const error = await refusal(readPassword({ env: {}, prompt: notTty }));
    expect(error).toMatchObject({ code: 'ATP_VDI_CREDENTIALS' });
    expect(error.message).toContain('ATP_VDI_PASSWORD');
    expect(error.message).toContain('0600');
  });
});
