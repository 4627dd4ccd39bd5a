/**
 * Where a VM's display server listens, as a thin client would reach it: the
 * protocol (SPICE or VNC), a TCP or unix-socket address, TLS (SPICE's
 * tls-port: the CA that signed the server's certificate) and the password.
 * The SPICE and VNC clients (display/spice, display/vnc) take one of these;
 * display/endpoint-sources.ts builds them from a URL, a lab VM, a libvirt
 * domain's graphics or the VDI platform. Pure types.
 *
 * The password is a secret: it is never logged, put in an error message or a
 * report; `describeEndpoint` prints an endpoint without it.
 */

export type DisplayProtocol = 'spice' | 'vnc';

export type DisplayAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface DisplayTls {
  /** PEM of the CA that signed the server certificate (the lab's generated CA, libvirt's spice_tls_x509_cert_dir/ca-cert.pem). */
  ca: string;
  /** The name the certificate must carry (default: the address's host). */
  servername?: string;
}

export interface DisplayEndpoint {
  protocol: DisplayProtocol;
  address: DisplayAddress;
  /** Set when `address` is a TLS port (SPICE tls-port). */
  tls?: DisplayTls;
  /** The ticket (SPICE) or VNC password; absent = none (SPICE then sends an empty ticket). */
  password?: string;
}

/** "spice://127.0.0.1:5930 (tls)", "vnc+unix:///run/lab/vnc.sock": for messages, never with the password. */
export function describeEndpoint(endpoint: DisplayEndpoint): string {
  const a = endpoint.address;
  const where = a.kind === 'tcp' ? `${endpoint.protocol}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}` : `${endpoint.protocol}+unix://${a.path}`;
  const extras = [endpoint.tls === undefined ? undefined : 'tls', endpoint.password === undefined ? undefined : 'password'].filter((x) => x !== undefined);
  return extras.length === 0 ? where : `${where} (${extras.join(', ')})`;
}
