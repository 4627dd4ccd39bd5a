/**
 * Where the host's secrets come from and what happens to a bad source:
 *  - the agent token (cli/secret-source.ts): --token-file (private regular file,
 *    not a symlink), --token-stdin (first line; the rest stays for the command),
 *    $ATP_TOKEN, --token (with a warning naming the safer sources); two flags
 *    are refused; every refusal is ATP_SECRET_SOURCE naming the source;
 *  - the same through `atp-host verify` / `serve` / `watch` (exit 2 before
 *    anything starts), and the API token file;
 *  - hosts.yaml group/other-accessible or not a regular file: ATP_CONFIG_FILE_MODE
 *    with the mode and `chmod 600 FILE`; a platform password file likewise
 *    (ATP_VDI_CREDENTIALS);
 *  - the redactor catches the raw, base64 and URL-encoded forms.
 * No error or output here may carry the secret it was handed.
 */
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { apiToken } from '../src/cli/api-token.js';
import { runCli } from '../src/cli/program.js';
import { AGENT_TOKEN, resolveSecret, secretForms, secretRedactor } from '../src/cli/secret-source.js';
import { loadHosts } from '../src/config/hosts-file.js';
import { readPassword } from '../src/vdi/index.js';

const TOKEN = 'tok-5ecret-Zq9xW2vLm7Pa';
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function secretFile(name: string, text: string, mode: number): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text, { mode });
  await chmod(file, mode);
  return file;
}

async function refusal(promise: Promise<unknown>): Promise<AtpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AtpError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** The error's message, details and cause messages as one string, to search for the secret. */
const everything = (error: AtpError): string => `${error.message} ${JSON.stringify(error.details)} ${error.cause instanceof Error ? error.cause.message : ''}`;

async function cli(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdin = new PassThrough();
  if (input !== undefined) stdin.end(input);
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t), ...(input === undefined ? {} : { input: stdin }) });
  return { code, out, err };
}

describe('the agent token sources (resolveSecret)', () => {
  it('reads a 0600 file; refuses one group or other may read, a directory and a symlink, naming the file, never the token', async () => {
    const good = await secretFile('good.token', `${TOKEN}\n`, 0o600);
    const warnings: string[] = [];
    expect(await resolveSecret(AGENT_TOKEN, { file: good }, { env: {}, warn: (l) => warnings.push(l) })).toEqual({ value: TOKEN, source: `--token-file ${good}` });
    expect(warnings).toEqual([]);

    const open = await secretFile('open.token', `${TOKEN}\n`, 0o644);
    const e = await refusal(resolveSecret(AGENT_TOKEN, { file: open }, { env: {}, warn: () => undefined }));
    expect(e.code).toBe('ATP_SECRET_SOURCE');
    expect(e.message).toBe(`agent token file ${open}: is accessible by group or other (mode 0644); run chmod 600 ${open}`);
    expect(everything(e)).not.toContain(TOKEN);

    const folder = path.join(dir, 'a-dir');
    await mkdir(folder, { mode: 0o700 });
    expect((await refusal(resolveSecret(AGENT_TOKEN, { file: folder }, { env: {}, warn: () => undefined }))).message).toBe(`agent token file ${folder}: is not a regular file`);
    const link = path.join(dir, 'link.token');
    await symlink(good, link);
    expect((await refusal(resolveSecret(AGENT_TOKEN, { file: link }, { env: {}, warn: () => undefined }))).message).toMatch(/is a symbolic link/);
    const twoLines = await secretFile('two.token', `${TOKEN}\nmore\n`, 0o600);
    const multi = await refusal(resolveSecret(AGENT_TOKEN, { file: twoLines }, { env: {}, warn: () => undefined }));
    expect(multi.message).toMatch(/more than one line/);
    expect(everything(multi)).not.toContain(TOKEN);
  });

  it('reads the first line of standard input and leaves the rest; an empty input is refused', async () => {
    const input = new PassThrough();
    input.end(`${TOKEN}\n:quit\nmore\n`);
    const got = await resolveSecret(AGENT_TOKEN, { stdin: true }, { env: {}, stdin: input, warn: () => undefined });
    expect(got).toEqual({ value: TOKEN, source: 'standard input' });
    input.setEncoding('utf8');
    let rest = '';
    for await (const chunk of input) rest += String(chunk);
    expect(rest).toBe(':quit\nmore\n');

    const empty = new PassThrough();
    empty.end('');
    const e = await refusal(resolveSecret(AGENT_TOKEN, { stdin: true }, { env: {}, stdin: empty, warn: () => undefined }));
    expect(e).toMatchObject({ code: 'ATP_SECRET_SOURCE', message: 'agent token from standard input: is empty (expected the secret on the first line)' });
  });

  it('takes $ATP_TOKEN, and --token with a warning naming the safer sources; refuses two flags', async () => {
    const warnings: string[] = [];
    const warn = (l: string): number => warnings.push(l);
    expect(await resolveSecret(AGENT_TOKEN, {}, { env: { ATP_TOKEN: TOKEN }, warn })).toEqual({ value: TOKEN, source: '$ATP_TOKEN' });
    expect(warnings).toEqual([]);
    expect(await resolveSecret(AGENT_TOKEN, { value: TOKEN }, { env: {}, warn })).toEqual({ value: TOKEN, source: '--token' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/--token puts the agent token on the command line.*\(ps\); use --token-file FILE \(mode 0600\), --token-stdin or \$ATP_TOKEN/);
    expect(warnings[0]).not.toContain(TOKEN);
    // The variable comes first; the flag is named as ignored.
    expect(await resolveSecret(AGENT_TOKEN, { value: 'other-token-value' }, { env: { ATP_TOKEN: TOKEN }, warn })).toEqual({ value: TOKEN, source: '$ATP_TOKEN' });
    expect(warnings[1]).toBe('warning: --token ignored: $ATP_TOKEN is set and comes first');
    const both = await refusal(resolveSecret(AGENT_TOKEN, { value: TOKEN, file: '/x' }, { env: {}, warn }));
    expect(both).toMatchObject({ code: 'ATP_SECRET_SOURCE', message: 'agent token on the command line: give one of --token-file, --token, not several' });
    const spaced = await refusal(resolveSecret(AGENT_TOKEN, {}, { env: { ATP_TOKEN: `${TOKEN} x` }, warn }));
    expect(spaced.message).toBe('agent token from $ATP_TOKEN: expected 1 to 4096 characters without spaces or control characters');
    expect(await resolveSecret(AGENT_TOKEN, {}, { env: {}, warn })).toBeUndefined();
  });
});

describe('the commands that take an agent token', () => {
  let suite = '';
  beforeAll(async () => {
    suite = path.join(dir, 'suite.yaml');
    await writeFile(suite, ['version: 1', 'name: s', 'target: { vm: lab }', 'observer: agent', 'steps:', '  - type: hi', ''].join('\n'));
  });

  it('verify: a group-readable token file is exit 2 before anything starts; --token warns and never shows up in the output', async () => {
    const open = await secretFile('verify-open.token', `${TOKEN}\n`, 0o640);
    const r = await cli(['verify', suite, '--qmp', path.join(dir, 'no.qmp'), '--agent', `virtio:${path.join(dir, 'no.agent')}`, '--token-file', open]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`ATP_SECRET_SOURCE: agent token file ${open}: is accessible by group or other (mode 0640); run chmod 600 ${open}`);

    const flag = await cli(['verify', suite, '--qmp', path.join(dir, 'no.qmp'), '--agent', `virtio:${path.join(dir, 'no.agent')}`, '--token', TOKEN, '--timeout', '1']);
    expect(flag.err).toMatch(/^atp-host verify: warning: --token puts the agent token on the command line/);
    expect(flag.code).toBe(3); // no QMP socket there: nothing could be verified
    for (const form of secretForms(TOKEN)) expect(`${flag.out}${flag.err}`).not.toContain(form);
  });

  it('verify --token-stdin reads the token; --lab refuses a token source; watch and serve refuse a bad file the same way', async () => {
    const viaStdin = await cli(['verify', suite, '--qmp', path.join(dir, 'no.qmp'), '--agent', `virtio:${path.join(dir, 'no.agent')}`, '--token-stdin', '--timeout', '1'], `${TOKEN}\n`);
    expect(viaStdin.code).toBe(3);
    expect(viaStdin.err).not.toContain('warning');
    expect(`${viaStdin.out}${viaStdin.err}`).not.toContain(TOKEN);
    const lab = await cli(['verify', suite, '--lab', '--token-file', '/x']);
    expect(lab).toMatchObject({ code: 2, err: expect.stringContaining('--lab sets up its own agent link and token: drop --agent/--token') as unknown });
    const missing = path.join(dir, 'missing.token');
    const watch = await cli(['watch', '--vm', 'x', '--token-file', missing]);
    expect(watch).toMatchObject({ code: 2, err: `atp-host: ATP_SECRET_SOURCE: agent token file ${missing}: does not exist\n` });
    const open = await secretFile('serve-open.token', `${TOKEN}\n`, 0o604);
    const serve = await cli(['serve', '--listen', '127.0.0.1:0', '--token-file', open, '--config-dir', path.join(dir, 'serve-cfg')]);
    expect(serve).toMatchObject({ code: 2, err: `atp-host: ATP_SECRET_SOURCE: agent token file ${open}: is accessible by group or other (mode 0604); run chmod 600 ${open}\n` });
  });

  it('the API token file: refused when group or other may read it, read when 0600', async () => {
    const open = await secretFile('api-open.token', `${TOKEN}\n`, 0o644);
    const e = await refusal(apiToken({ file: open }));
    expect(e).toMatchObject({ code: 'ATP_SECRET_SOURCE', message: `API token file ${open}: is accessible by group or other (mode 0644); run chmod 600 ${open}` });
    const good = await secretFile('api-good.token', `${TOKEN}\n`, 0o600);
    expect(await apiToken({ file: good })).toEqual({ token: TOKEN, source: good, created: false });
  });
});

describe('stored credentials and hosts.yaml', () => {
  it('hosts.yaml that group or other may read or write is ATP_CONFIG_FILE_MODE (mode and chmod); 0600 loads; a directory is refused', async () => {
    const cd = path.join(dir, 'cfg');
    await mkdir(cd, { recursive: true });
    const file = path.join(cd, 'hosts.yaml');
    await writeFile(file, 'version: 1\nhosts:\n  local:\n    kind: local\n', { mode: 0o644 });
    await chmod(file, 0o644);
    const e = await refusal(loadHosts({ configDir: cd }));
    expect(e).toMatchObject({ code: 'ATP_CONFIG_FILE_MODE', details: { file, mode: '0644' } });
    expect(e.message).toBe(`${file}: group or other may read or write it (mode 0644); it names the hosts and keys ATP connects with: run chmod 600 ${file}`);
    const viaCli = await cli(['host', 'list', '--config-dir', cd]);
    expect(viaCli.code).toBe(2);
    expect(viaCli.err).toContain(`ATP_CONFIG_FILE_MODE: ${file}`);
    await chmod(file, 0o620);
    expect((await refusal(loadHosts({ configDir: cd }))).details).toMatchObject({ mode: '0620' });
    await chmod(file, 0o600);
    expect((await loadHosts({ configDir: cd })).hosts).toEqual({ local: { kind: 'local' } });
    const odd = path.join(dir, 'odd');
    await mkdir(path.join(odd, 'hosts.yaml'), { recursive: true });
    expect(await refusal(loadHosts({ configDir: odd }))).toMatchObject({ code: 'ATP_CONFIG_FILE_MODE', message: `${path.join(odd, 'hosts.yaml')}: is not a regular file` });
  });

  it('a platform password file group or other may read is refused with its mode, never quoting the password', async () => {
    const open = await secretFile('vdi.password', `${TOKEN}\n`, 0o644);
    const e = await refusal(readPassword({ file: open, prompt: false }));
    expect(e).toMatchObject({ code: 'ATP_VDI_CREDENTIALS', message: `password file ${open}: is accessible by group or other (mode 0644); run chmod 600 ${open}` });
    expect(everything(e)).not.toContain(TOKEN);
  });
});

describe('the redactor', () => {
  it('replaces the raw, base64, base64url and URL-encoded forms of each secret, longest first; short secrets are left alone', () => {
    const secret = 'p@ss word/with+signs?';
    const redact = secretRedactor([secret, undefined, 'short']);
    const text = [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'), encodeURIComponent(secret), 'short'].join(' | ');
    expect(redact(text)).toBe('<redacted> | <redacted> | <redacted> | <redacted> | short');
    expect(secretRedactor([])('unchanged')).toBe('unchanged');
  });
});
