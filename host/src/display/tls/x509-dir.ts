/**
 * Makes a directory of TLS material for a SPICE server (QEMU `-spice
 * x509-dir=DIR`): a fresh CA and a server certificate it signed, for
 * 127.0.0.1 / ::1 / localhost by default (openssl-args.ts has the commands).
 * Returns the directory and the CA's PEM, which a client needs to verify the
 * server (DisplayEndpoint.tls.ca).
 *
 * Why the openssl CLI and not a library: node:crypto makes keys but cannot
 * write an X.509 certificate (X509Certificate only reads), the pure-JS
 * certificate libraries would be a new dependency for a few lines of work,
 * and /usr/bin/openssl is on every Debian host that runs QEMU. It runs
 * through execFile with argument arrays (no shell).
 *
 * The directory is 0700 and every file 0600 (QEMU runs as the same user);
 * the CA's private key is deleted once the server certificate is signed.
 * Existing files of the four names are replaced.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { x509OptionProblem, x509Plan, type X509Options } from './openssl-args.js';

export interface X509DirOptions extends X509Options {
  /** The openssl executable (default 'openssl', looked up in PATH). */
  openssl?: string;
  /** Per openssl call (default 30 s). */
  timeoutMs?: number;
}

export interface X509Dir {
  /** The absolute directory to give QEMU as x509-dir. */
  dir: string;
  /** The CA certificate (PEM) that signed server-cert.pem. */
  caPem: string;
}

function runOpenssl(binary: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } }, (error, _stdout, stderr) => {
      if (error === null) {
        resolve();
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? `${binary} not found (install the Debian package openssl)`
          : `${binary} ${args.slice(0, 2).join(' ')} failed (${error.killed ? `killed after ${timeoutMs} ms` : `exit ${String(error.code)}`}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`;
      reject(new AtpError('ATP_DISPLAY_TLS', `cannot make the SPICE TLS material: ${why}`, { cause: error, details: { step: args[0] ?? '' } }));
    });
  });
}

/** Creates (or refreshes) `dir` with ca-cert.pem, server-cert.pem and server-key.pem. */
export async function generateX509Dir(dir: string, options: X509DirOptions = {}): Promise<X509Dir> {
  const problem = x509OptionProblem(options);
  if (problem !== undefined) throw new AtpError('ATP_DISPLAY_TLS', `cannot make the SPICE TLS material: ${problem}`, { details: { field: problem.split(/[: ]/)[0] ?? '' } });
  const absolute = path.resolve(dir);
  const plan = x509Plan(absolute, options);
  try {
    await mkdir(absolute, { recursive: true, mode: 0o700 });
    await chmod(absolute, 0o700);
    for (const file of Object.values(plan.files)) await rm(file, { force: true });
  } catch (cause) {
    throw new AtpError('ATP_DISPLAY_TLS', `cannot prepare the TLS directory ${absolute}: ${String(cause)}`, { cause, details: { dir: absolute } });
  }
  try {
    for (const args of plan.commands) await runOpenssl(options.openssl ?? 'openssl', args, options.timeoutMs ?? 30_000);
    for (const file of [plan.files.caCert, plan.files.serverCert, plan.files.serverKey]) await chmod(file, 0o600);
    return { dir: absolute, caPem: await readFile(plan.files.caCert, 'utf8') };
  } catch (error) {
    if (error instanceof AtpError) throw error;
    throw new AtpError('ATP_DISPLAY_TLS', `cannot finish the TLS files in ${absolute}: ${String(error)}`, { cause: error, details: { dir: absolute } });
  } finally {
    await rm(plan.files.caKey, { force: true });
  }
}
