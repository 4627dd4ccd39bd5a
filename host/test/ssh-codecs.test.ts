/**
 * The pure SSH pieces on real tools: POSIX quoting read back by real shells
 * (dash, bash) through `sh -c`, property-tested; known_hosts parsing and
 * matching against lines and fingerprints made by the real ssh-keygen
 * (plain, [host]:port, hashed with -H, negation, @revoked).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHostKey, fingerprint, formatKnownHostLine, hashHostName, knownHostName, knownKeyTypes, parseKnownHosts } from '../src/vm/ssh/known-hosts.js';
import { quoteShellArg, shellCommand, shellCommandWithEnv } from '../src/vm/ssh/shell-quote.js';
import { requireBinary } from './support/binaries.js';

const run = promisify(execFile);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Prints each of ARGS NUL-terminated through `shell -c` and splits what it printed. */
async function readBack(shell: string, args: string[]): Promise<string[]> {
  const { stdout } = await run(shell, ['-c', `for a in ${args.map(quoteShellArg).join(' ')}; do printf '%s\\0' "$a"; done`], { encoding: 'buffer', maxBuffer: 1 << 24 });
  const parts = stdout.toString('utf8').split('\0');
  parts.pop();
  return parts;
}

describe('POSIX shell quoting', () => {
  const tricky = [`it's`, 'two words', '$(touch /tmp/atp-pwned)', '`id`', 'a;b', 'x && y', '$HOME', '"dq"', '\\', 'new\nline', '*', '~', '', '-n', "'", "''", '!hist', 'tab\there', 'ünïcødé ✓'];

  for (const shell of ['/bin/sh', '/bin/bash']) {
    it(`${shell} reads tricky arguments back verbatim`, async () => {
      requireBinary(path.basename(shell), shell === '/bin/sh' ? 'dash' : 'bash');
      expect(await readBack(shell, tricky)).toEqual(tricky);
    });
  }

  it('round-trips arbitrary strings without NUL (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0') && !LONE_SURROGATE.test(s)), { maxLength: 6 }), async (args) => {
        expect(await readBack('/bin/sh', args)).toEqual(args);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses NUL and empty commands; env names are checked', () => {
    expect(() => quoteShellArg('a\0b')).toThrow(expect.objectContaining({ code: 'ATP_SSH_ARGUMENT' }));
    expect(() => shellCommand([])).toThrow(expect.objectContaining({ code: 'ATP_SSH_ARGUMENT' }));
    expect(() => shellCommandWithEnv({ 'A B': 'x' }, ['true'])).toThrow(expect.objectContaining({ code: 'ATP_SSH_ARGUMENT' }));
    expect(shellCommandWithEnv({ LC_ALL: 'C' }, ['virsh', '-c', 'qemu:///system'])).toBe(`exec 'env' 'LC_ALL=C' 'virsh' '-c' 'qemu:///system'`);
  });
});

describe('known_hosts against ssh-keygen', () => {
  let dir = '';
  let keygen = '';
  const keys: { blob: Buffer; type: string; fp: string; line: string }[] = [];

  beforeAll(async () => {
    keygen = requireBinary('ssh-keygen', 'openssh-client');
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-kh-'));
    for (const [i, type] of [['1', 'ed25519'], ['2', 'ecdsa'], ['3', 'ed25519']] as const) {
      const f = path.join(dir, `k${i}`);
      await run(keygen, ['-q', '-t', type, '-N', '', '-f', f]);
      const line = (await readFile(`${f}.pub`, 'utf8')).trim();
      const [t, b64] = line.split(' ');
      const fp = (await run(keygen, ['-l', '-E', 'sha256', '-f', `${f}.pub`])).stdout.split(' ')[1] ?? '';
      keys.push({ blob: Buffer.from(b64 ?? '', 'base64'), type: t ?? '', fp, line });
    }
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const key = (i: number): { blob: Buffer; type: string; fp: string; line: string } => {
    const k = keys[i];
    if (!k) throw new Error('no key');
    return k;
  };

  it('computes the same SHA256 fingerprint as ssh-keygen -l', () => {
    for (const k of keys) expect(fingerprint(k.blob)).toBe(k.fp);
  });

  it('matches plain, [host]:port, globs and negations; tells known from changed and unknown', () => {
    const [a, b, c] = [key(0), key(1), key(2)];
    const text = [
      '# comment',
      '',
      `hv1.example.com,10.0.0.1 ${a.line.split(' ').slice(0, 2).join(' ')}`,
      `[hv1.example.com]:2222 ${c.type} ${c.blob.toString('base64')}`,
      `*.lab,!bad.lab ${b.type} ${b.blob.toString('base64')} lab key`,
      'garbage line',
      `bad2 ssh-ed25519 ${b.blob.toString('base64')}`,
    ].join('\n');
    const parsed = parseKnownHosts(text);
    expect(parsed.entries).toHaveLength(3);
    expect(parsed.invalid.map((i) => i.line)).toEqual([6, 7]);
    expect(checkHostKey(parsed.entries, 'hv1.example.com', 22, a.blob)).toMatchObject({ status: 'known', entry: { line: 3 } });
    expect(checkHostKey(parsed.entries, 'HV1.example.com', 22, a.blob).status).toBe('known');
    expect(checkHostKey(parsed.entries, '10.0.0.1', 22, a.blob).status).toBe('known');
    expect(checkHostKey(parsed.entries, 'hv1.example.com', 2222, c.blob).status).toBe('known');
    expect(checkHostKey(parsed.entries, 'hv1.example.com', 2222, a.blob)).toMatchObject({ status: 'changed', entry: { line: 4 } });
    expect(checkHostKey(parsed.entries, 'hv1.example.com', 2223, a.blob)).toEqual({ status: 'unknown', otherTypes: [] });
    expect(checkHostKey(parsed.entries, 'x.lab', 22, b.blob).status).toBe('known');
    expect(checkHostKey(parsed.entries, 'bad.lab', 22, b.blob).status).toBe('unknown');
    expect(checkHostKey(parsed.entries, 'x.lab', 22, a.blob)).toEqual({ status: 'unknown', otherTypes: [b.type] });
    expect(knownKeyTypes(parsed.entries, 'hv1.example.com', 22)).toEqual([a.type]);
  });

  it('matches names hashed by ssh-keygen -H, and its own hashed lines', async () => {
    const [a, c] = [key(0), key(2)];
    const file = path.join(dir, 'known_hosts');
    await writeFile(file, `${formatKnownHostLine('127.0.0.1', 2222, a.blob)}\nhv2 ${c.type} ${c.blob.toString('base64')}\n`);
    await run(keygen, ['-H', '-f', file]);
    const hashed = await readFile(file, 'utf8');
    expect(hashed).not.toContain('127.0.0.1');
    expect(hashed).toMatch(/^\|1\|/m);
    const { entries } = parseKnownHosts(hashed);
    expect(checkHostKey(entries, '127.0.0.1', 2222, a.blob).status).toBe('known');
    expect(checkHostKey(entries, '127.0.0.1', 22, a.blob).status).toBe('unknown');
    expect(checkHostKey(entries, 'hv2', 22, a.blob).status).toBe('changed');
    // ssh-keygen -F finds our hashed line
    await writeFile(file, `${hashHostName(knownHostName('10.1.2.3', 2200))} ${a.type} ${a.blob.toString('base64')}\n`);
    const found = await run(keygen, ['-F', '[10.1.2.3]:2200', '-f', file]);
    expect(found.stdout).toContain(a.blob.toString('base64'));
  });

  it('refuses a @revoked key for any host; ignores @cert-authority lines', () => {
    const [a, b] = [key(0), key(1)];
    const text = `@revoked * ${a.type} ${a.blob.toString('base64')}\n@cert-authority hv ${b.type} ${b.blob.toString('base64')}\nhv ${a.type} ${a.blob.toString('base64')}\n`;
    const { entries } = parseKnownHosts(text);
    expect(checkHostKey(entries, 'hv', 22, a.blob)).toMatchObject({ status: 'revoked', entry: { line: 1 } });
    expect(checkHostKey(entries, 'hv', 22, b.blob).status).toBe('unknown');
  });
});
