/**
 * The SPICE TLS material: the openssl command lines (pure), and one real run of
 * the real openssl whose certificates Node's own TLS stack accepts: a TLS
 * server with server-cert.pem/server-key.pem is verified by a client that
 * trusts only the returned CA, for 127.0.0.1 and localhost.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { generateX509Dir, x509OptionProblem, x509Plan } from '../src/display/tls/index.js';
import { requireBinary } from './support/binaries.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('x509Plan (pure)', () => {
  it('makes a CA, then a server certificate signed by it, into the x509-dir file names QEMU reads', () => {
    const plan = x509Plan('/run/lab/x509');
    expect(plan.files).toEqual({
      caCert: '/run/lab/x509/ca-cert.pem',
      caKey: '/run/lab/x509/ca-key.pem',
      serverCert: '/run/lab/x509/server-cert.pem',
      serverKey: '/run/lab/x509/server-key.pem',
    });
    const [ca, server] = plan.commands;
    expect(ca?.slice(0, 2)).toEqual(['req', '-x509']);
    expect(ca).toContain('basicConstraints=critical,CA:TRUE');
    expect(ca?.[ca.indexOf('-keyout') + 1]).toBe('/run/lab/x509/ca-key.pem');
    expect(server?.[server.indexOf('-CA') + 1]).toBe('/run/lab/x509/ca-cert.pem');
    expect(server?.[server.indexOf('-CAkey') + 1]).toBe('/run/lab/x509/ca-key.pem');
    expect(server).toContain('subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1');
    expect(server).toContain('extendedKeyUsage=serverAuth');
    expect(server?.[server.indexOf('-days') + 1]).toBe('30');
  });

  it('takes other names, addresses and validity', () => {
    const server = x509Plan('/d', { dnsNames: ['lab.example'], ipAddresses: ['10.0.0.5'], days: 2 }).commands[1] ?? [];
    expect(server).toContain('subjectAltName=DNS:lab.example,IP:10.0.0.5');
    expect(server[server.indexOf('-subj') + 1]).toBe('/CN=lab.example');
    expect(server[server.indexOf('-days') + 1]).toBe('2');
  });

  it('refuses names that would smuggle openssl syntax, bad addresses and bad validity', () => {
    expect(x509OptionProblem({ dnsNames: ['a,IP:1.2.3.4'] })).toMatch(/dnsNames/);
    expect(x509OptionProblem({ ipAddresses: ['300.1.1.1'] })).toMatch(/ipAddresses/);
    expect(x509OptionProblem({ days: 0 })).toMatch(/days/);
    expect(x509OptionProblem({ dnsNames: [], ipAddresses: [] })).toMatch(/at least one/);
    expect(x509OptionProblem({ ipAddresses: ['::1', '192.168.1.1'] })).toBeUndefined();
  });
});

describe('generateX509Dir (real openssl)', () => {
  it('writes 0600 files in a 0700 dir, drops the CA key, and Node verifies the server with the returned CA', async () => {
    requireBinary('openssl', 'openssl');
    const parent = await mkdtemp(path.join(os.tmpdir(), 'atp-x509-'));
    dirs.push(parent);
    const { dir, caPem } = await generateX509Dir(path.join(parent, 'x509'));
    expect((await readdir(dir)).sort()).toEqual(['ca-cert.pem', 'server-cert.pem', 'server-key.pem']);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const f of await readdir(dir)) expect(((await stat(path.join(dir, f))).mode & 0o777).toString(8)).toBe('600');
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(readFileSync(path.join(dir, 'server-cert.pem')));
    expect(ca.ca).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');

    const server = tls.createServer({ cert: readFileSync(path.join(dir, 'server-cert.pem')), key: readFileSync(path.join(dir, 'server-key.pem')) }, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const handshake = (options: tls.ConnectionOptions): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
          resolve(socket.authorized);
          socket.destroy();
        });
        socket.on('error', reject);
      });
    try {
      expect(await handshake({ ca: caPem })).toBe(true);
      expect(await handshake({ ca: caPem, servername: 'localhost' })).toBe(true);
      // A client trusting another CA refuses it: the certificate really hangs off this CA only.
      const other = await generateX509Dir(path.join(parent, 'other'));
      await expect(handshake({ ca: other.caPem })).rejects.toThrow(/certificate/);
    } finally {
      server.close();
    }
  });

  it('a missing openssl is ATP_DISPLAY_TLS naming the package', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'atp-x509-'));
    dirs.push(parent);
    const error = await generateX509Dir(parent, { openssl: '/nonexistent/openssl' }).catch((e: unknown) => e);
    expect(isAtpError(error, 'ATP_DISPLAY_TLS')).toBe(true);
    expect((error as Error).message).toMatch(/not found.*openssl/);
  });
});
