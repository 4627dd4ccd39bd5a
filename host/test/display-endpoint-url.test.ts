/**
 * Display endpoints from URLs: the URL convention (pure, with a property test
 * that the parser never throws anything but ATP_DISPLAY_URL and never echoes a
 * user part), and endpointFromUrl reading the password from the environment
 * or a 0600 file (the VDI password-file rules) and the CA from a file.
 */
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { describeEndpoint } from '../src/display/endpoint.js';
import { endpointFromUrl, parseDisplayUrl, redactDisplayUrl } from '../src/display/endpoint-sources.js';
import { generateX509Dir } from '../src/display/tls/index.js';

function failure(fn: () => unknown): { code: string; field: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    if (!isAtpError(error)) throw error;
    return { code: error.code, field: error.details.field, message: error.message };
  }
  throw new Error('expected a failure');
}

describe('parseDisplayUrl', () => {
  it('reads each scheme of the convention', () => {
    expect(parseDisplayUrl('spice://10.0.0.5:5900')).toEqual({ protocol: 'spice', address: { kind: 'tcp', host: '10.0.0.5', port: 5900 }, tls: false });
    expect(parseDisplayUrl('spices://hv1.example:5901')).toEqual({ protocol: 'spice', address: { kind: 'tcp', host: 'hv1.example', port: 5901 }, tls: true });
    expect(parseDisplayUrl('spices://127.0.0.1:5901?servername=localhost')).toEqual({ protocol: 'spice', address: { kind: 'tcp', host: '127.0.0.1', port: 5901 }, tls: true, servername: 'localhost' });
    expect(parseDisplayUrl('vnc://[::1]:5902/')).toEqual({ protocol: 'vnc', address: { kind: 'tcp', host: '::1', port: 5902 }, tls: false });
    expect(parseDisplayUrl('VNC://host:1')).toMatchObject({ protocol: 'vnc', address: { port: 1 } });
    expect(parseDisplayUrl('spice+unix:///run/lab/spice.sock')).toEqual({ protocol: 'spice', address: { kind: 'unix', path: '/run/lab/spice.sock' }, tls: false });
    expect(parseDisplayUrl('vnc+unix:///tmp/a%20b/vnc.sock')).toEqual({ protocol: 'vnc', address: { kind: 'unix', path: '/tmp/a b/vnc.sock' }, tls: false });
  });

  it('round-trips with describeEndpoint for TCP and unix endpoints', () => {
    for (const url of ['spice://10.0.0.5:5900', 'vnc://[fe80::1]:5900', 'vnc+unix:///run/lab/vnc.sock', 'spice+unix:///run/x.sock']) {
      const p = parseDisplayUrl(url);
      expect(describeEndpoint({ protocol: p.protocol, address: p.address })).toBe(url);
    }
  });

  it('names the field of each mistake', () => {
    const cases: [string, string][] = [
      ['http://host:80', 'scheme'],
      ['spice:host:5900', 'scheme'],
      ['vncs://host:5900', 'scheme'],
      ['spice://host', 'port'],
      ['spice://host:', 'port'],
      ['spice://host:0', 'port'],
      ['spice://host:65536', 'port'],
      ['spice://host:59a0', 'port'],
      ['spice://:5900', 'host'],
      ['spice://ho st:5900', 'host'],
      ['spice://::1:5900', 'host'],
      ['spice://[::1:5900', 'host'],
      ['spice://[nothex]:5900', 'host'],
      ['spice://host:5900/path', 'path'],
      ['spice://host:5900#frag', 'fragment'],
      ['spice://host:5900?servername=x', 'query'],
      ['spices://host:5900?tls=1', 'query'],
      ['spices://host:5900?servername=bad%20name', 'servername'],
      ['spice+unix://relative/path', 'path'],
      ['vnc+unix:///', 'path'],
      ['vnc+unix:///a%zz', 'path'],
      ['vnc+unix:///run/x.sock?x=1', 'query'],
      ['spice://user:secret@host:5900', 'password'],
    ];
    for (const [url, field] of cases) {
      const f = failure(() => parseDisplayUrl(url));
      expect([url, f.code, f.field]).toEqual([url, 'ATP_DISPLAY_URL', field]);
      expect(f.message).toContain(field);
    }
  });

  it('never quotes a password given in the URL', () => {
    const f = failure(() => parseDisplayUrl('spice://admin:hunter2@host:5900'));
    expect(f.message).not.toContain('hunter2');
    expect(f.message).toContain('spice://***@host:5900');
    expect(redactDisplayUrl('vnc://:pw@h:1')).toBe('vnc://***@h:1');
  });

  it('on any input: returns an endpoint or throws ATP_DISPLAY_URL, and never echoes a user part (property)', () => {
    const part = fc.stringMatching(/^[a-z0-9:@/?#%[\]. +-]{0,12}$/);
    const scheme = fc.constantFrom('spice', 'spices', 'vnc', 'spice+unix', 'vnc+unix', 'http', '');
    fc.assert(
      fc.property(scheme, part, fc.stringMatching(/^[a-z]{6,10}$/), part, (s, before, secret, after) => {
        const url = `${s}://${before}:${secret}@${after}`;
        try {
          const parsed = parseDisplayUrl(url);
          expect(['spice', 'vnc']).toContain(parsed.protocol);
        } catch (error) {
          expect(isAtpError(error, 'ATP_DISPLAY_URL')).toBe(true);
          if (!`${s}://${before}`.includes('#') && !`${s}://${before}`.includes('?') && !before.includes('/')) expect((error as Error).message).not.toContain(`${secret}@`);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('endpointFromUrl', () => {
  let dir: string;
  let caPem: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-display-url-'));
    caPem = (await generateX509Dir(path.join(dir, 'x509'))).caPem;
    await writeFile(path.join(dir, 'ca.pem'), caPem, { mode: 0o644 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the password from ATP_DISPLAY_PASSWORD, another variable, or none', async () => {
    expect(await endpointFromUrl('vnc://h:5900', { env: { ATP_DISPLAY_PASSWORD: 'pw1' } })).toEqual({ protocol: 'vnc', address: { kind: 'tcp', host: 'h', port: 5900 }, password: 'pw1' });
    expect((await endpointFromUrl('vnc://h:5900', { env: { MY_PW: 'pw2' }, passwordEnv: 'MY_PW' })).password).toBe('pw2');
    expect(await endpointFromUrl('spice://h:5900', { env: {} })).toEqual({ protocol: 'spice', address: { kind: 'tcp', host: 'h', port: 5900 } });
    const empty = await endpointFromUrl('spice://h:5900', { env: { ATP_DISPLAY_PASSWORD: '' } }).catch((e: unknown) => e);
    expect(isAtpError(empty, 'ATP_DISPLAY_CREDENTIALS')).toBe(true);
    expect((empty as Error).message).toContain('ATP_DISPLAY_PASSWORD is set but empty');
  });

  it('a 0600 password file wins over the environment; one trailing newline is dropped', async () => {
    const file = path.join(dir, 'pw-ok');
    await writeFile(file, 'file-secret\n', { mode: 0o600 });
    const endpoint = await endpointFromUrl('spice+unix:///run/s.sock', { passwordFile: file, env: { ATP_DISPLAY_PASSWORD: 'env-secret' } });
    expect(endpoint).toEqual({ protocol: 'spice', address: { kind: 'unix', path: '/run/s.sock' }, password: 'file-secret' });
  });

  it('refuses password files as the VDI password rules do, naming the file and never the content', async () => {
    const write = async (name: string, content: string, mode: number): Promise<string> => {
      const file = path.join(dir, name);
      await writeFile(file, content, { mode });
      await chmod(file, mode);
      return file;
    };
    const cases: [string, RegExp][] = [
      [await write('pw-group', 'groupsecret', 0o640), /accessible by group or other \(mode 0640\); run chmod 600/],
      [await write('pw-empty', '\n', 0o600), /is empty/],
      [await write('pw-lines', 'twolines\nsecret\n', 0o600), /more than one line/],
      [await write('pw-big', 'x'.repeat(5000), 0o600), /larger than 4096 bytes/],
      [path.join(dir, 'pw-missing'), /does not exist/],
      [dir, /not a regular file/],
    ];
    const link = path.join(dir, 'pw-link');
    await symlink(path.join(dir, 'pw-ok'), link);
    cases.push([link, /symbolic link/]);
    for (const [file, why] of cases) {
      const error = await endpointFromUrl('vnc://h:5900', { passwordFile: file }).catch((e: unknown) => e);
      expect(isAtpError(error, 'ATP_DISPLAY_CREDENTIALS')).toBe(true);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toMatch(why);
      expect((error as Error).message).not.toMatch(/groupsecret|twolines/);
    }
  });

  it('spices:// takes the CA file (and servername); plain URLs refuse one, spices:// needs one', async () => {
    const endpoint = await endpointFromUrl('spices://127.0.0.1:5931?servername=localhost', { caFile: path.join(dir, 'ca.pem'), env: {} });
    expect(endpoint).toEqual({ protocol: 'spice', address: { kind: 'tcp', host: '127.0.0.1', port: 5931 }, tls: { ca: caPem, servername: 'localhost' } });
    for (const [url, caFile] of [
      ['spices://h:5931', undefined],
      ['spice://h:5930', path.join(dir, 'ca.pem')],
    ] as const) {
      const error = await endpointFromUrl(url, { env: {}, ...(caFile === undefined ? {} : { caFile }) }).catch((e: unknown) => e);
      expect(isAtpError(error, 'ATP_DISPLAY_URL')).toBe(true);
      expect((error as AtpErrorLike).details.field).toBe('ca');
    }
  });

  it('a CA file that is not a PEM certificate is ATP_DISPLAY_CREDENTIALS naming it', async () => {
    const bad = path.join(dir, 'not-a-ca.pem');
    await writeFile(bad, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    for (const file of [bad, path.join(dir, 'pw-ok'), path.join(dir, 'nope.pem')]) {
      const error = await endpointFromUrl('spices://h:5931', { caFile: file, env: {} }).catch((e: unknown) => e);
      expect(isAtpError(error, 'ATP_DISPLAY_CREDENTIALS')).toBe(true);
      expect((error as Error).message).toContain(file);
    }
  });
});

interface AtpErrorLike {
  details: Readonly<Record<string, unknown>>;
}
