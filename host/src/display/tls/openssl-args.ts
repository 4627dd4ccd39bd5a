/**
 * The openssl command lines that make a SPICE server's TLS material, as QEMU's
 * `-spice x509-dir=DIR` reads it: DIR/ca-cert.pem, DIR/server-cert.pem,
 * DIR/server-key.pem. Pure: the argument arrays and file names only; running
 * them is x509-dir.ts.
 *
 * Two `openssl req -x509` calls (OpenSSL 3.0 signs with `-CA`/`-CAkey` in
 * `req`, so no CSR or extension file is written):
 * 1. a self-signed CA (basicConstraints CA:TRUE, keyCertSign) with its key in
 *    DIR/ca-key.pem;
 * 2. the server certificate signed by that CA, subjectAltName = the given DNS
 *    names and IP addresses (default localhost, 127.0.0.1, ::1), serverAuth.
 * The caller deletes ca-key.pem afterwards: nobody can sign another
 * certificate this CA vouches for, and every lab boot gets a fresh CA.
 *
 * Keys are EC P-256: generated in milliseconds (RSA 2048 takes 0.1–1 s on a
 * loaded 2-core host), and QEMU 7.2's spice-server and Node's TLS client
 * complete a TLS 1.3 handshake with them (checked on this machine).
 */
import path from 'node:path';

export const X509_FILES = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server-cert.pem',
  serverKey: 'server-key.pem',
} as const;

export interface X509Options {
  /** Validity in days (default 30: a lab VM lives for hours; a new CA is made at every boot). */
  days?: number;
  /** DNS names in the server certificate (default ['localhost']); the first is also its CN. */
  dnsNames?: readonly string[];
  /** IP addresses in the server certificate (default ['127.0.0.1', '::1']). */
  ipAddresses?: readonly string[];
}

export interface X509Plan {
  /** Absolute paths of the four files in the directory. */
  files: { [K in keyof typeof X509_FILES]: string };
  /** openssl argument lists, run in order. */
  commands: string[][];
}

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

export const DEFAULT_X509_DAYS = 30;

/** Why an option is unusable, or undefined. Names go into an openssl -addext value, so only plain names and addresses pass. */
export function x509OptionProblem(options: X509Options): string | undefined {
  const days = options.days ?? DEFAULT_X509_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 3650) return `days must be an integer from 1 to 3650, got ${String(options.days)}`;
  const bad = (options.dnsNames ?? []).find((n) => !DNS_NAME.test(n));
  if (bad !== undefined) return `dnsNames: ${JSON.stringify(bad)} is not a DNS name`;
  const badIp = (options.ipAddresses ?? []).find((a) => !(IPV4.test(a) || (a.includes(':') && IPV6.test(a))));
  if (badIp !== undefined) return `ipAddresses: ${JSON.stringify(badIp)} is not an IP address`;
  if ((options.dnsNames?.length ?? 1) + (options.ipAddresses?.length ?? 2) === 0) return 'the server certificate needs at least one DNS name or IP address';
  return undefined;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** The files and commands for `dir` (validate options with x509OptionProblem first). */
export function x509Plan(dir: string, options: X509Options = {}): X509Plan {
  const files = {
    caCert: path.join(dir, X509_FILES.caCert),
    caKey: path.join(dir, X509_FILES.caKey),
    serverCert: path.join(dir, X509_FILES.serverCert),
    serverKey: path.join(dir, X509_FILES.serverKey),
  };
  const days = String(options.days ?? DEFAULT_X509_DAYS);
  const dns = options.dnsNames ?? ['localhost'];
  const ips = options.ipAddresses ?? ['127.0.0.1', '::1'];
  const san = [...dns.map((n) => `DNS:${n}`), ...ips.map((a) => `IP:${a}`)].join(',');
  const ca = ['req', '-x509', ...EC_KEY, '-keyout', files.caKey, '-out', files.caCert, '-days', days, '-subj', '/CN=ATP lab display CA'];
  ca.push('-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const server = ['req', '-x509', ...EC_KEY, '-keyout', files.serverKey, '-out', files.serverCert, '-days', days, '-subj', `/CN=${dns[0] ?? ips[0] ?? 'localhost'}`];
  server.push('-CA', files.caCert, '-CAkey', files.caKey);
  server.push('-addext', `subjectAltName=${san}`, '-addext', 'basicConstraints=critical,CA:FALSE');
  server.push('-addext', 'keyUsage=critical,digitalSignature,keyEncipherment', '-addext', 'extendedKeyUsage=serverAuth');
  return { files, commands: [ca, server] };
}
