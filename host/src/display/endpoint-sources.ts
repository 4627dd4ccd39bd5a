/**
 * Every way ATP learns where a VM's display server is, each ending in a
 * DisplayEndpoint (endpoint.ts) for the SPICE and VNC injectors:
 * - a URL (`spice://`, `spices://`, `vnc://`, `spice+unix://`, `vnc+unix://`;
 *   endpoint-url.ts has the convention) with the password from
 *   ATP_DISPLAY_PASSWORD or a 0600 file and, for spices://, the CA from a
 *   file (secret-file.ts): `endpointFromUrl`;
 * - a libvirt domain's graphics (endpoint-libvirt.ts; read them with
 *   LibvirtClient.domainGraphics, which asks for the security info that holds
 *   the password): `endpointFromGraphics`;
 * - the VDI platform's spice key, port list and VNC password
 *   (endpoint-platform.ts): `endpointFromPlatform` / `platformDisplayEndpoint`;
 * - a lab VM: `labDisplayEndpoint` in host/src/lab/display.ts (the lab layer
 *   sits above this one).
 */
import { AtpError } from '@atp/protocol';
import type { DisplayEndpoint } from './endpoint.js';
import { parseDisplayUrl, redactDisplayUrl } from './endpoint-url.js';
import { readCaFile, readDisplayPassword } from './secret-file.js';

export { DISPLAY_PASSWORD_ENV, DISPLAY_URL_SCHEMES, parseDisplayUrl, redactDisplayUrl } from './endpoint-url.js';
export type { DisplayUrlScheme, ParsedDisplayUrl } from './endpoint-url.js';
export { readCaFile, readDisplayPassword, readDisplayPasswordFile } from './secret-file.js';
export type { DisplayPasswordOrigin, DisplayPasswordSources } from './secret-file.js';
export { endpointFromGraphics, isLoopbackHost } from './endpoint-libvirt.js';
export type { GraphicsLike, GraphicsListenLike, LibvirtEndpointOptions } from './endpoint-libvirt.js';
export { endpointFromPlatform, platformDisplayEndpoint } from './endpoint-platform.js';
export type { DomainPortLike, PlatformDisplayClient, PlatformDisplayInfo, PlatformEndpointOptions, SpiceKeyLike } from './endpoint-platform.js';

export interface UrlEndpointOptions {
  /** A password file (mode 0600); wins over the environment variable. */
  passwordFile?: string;
  /** The variable holding the password (default ATP_DISPLAY_PASSWORD); unset = no password. */
  passwordEnv?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** PEM file of the CA that signed the server's certificate; required by spices://, refused otherwise. */
  caFile?: string;
}

/** Parses the URL, then reads the password and the CA. */
export async function endpointFromUrl(url: string, options: UrlEndpointOptions = {}): Promise<DisplayEndpoint> {
  const parsed = parseDisplayUrl(url);
  const shown = redactDisplayUrl(url);
  if (parsed.tls && options.caFile === undefined) {
    throw new AtpError('ATP_DISPLAY_URL', `display URL ${JSON.stringify(shown)}: ca is missing: a spices:// endpoint needs the CA certificate file that signed the server's certificate`, { details: { field: 'ca', url: shown } });
  }
  if (!parsed.tls && options.caFile !== undefined) {
    throw new AtpError('ATP_DISPLAY_URL', `display URL ${JSON.stringify(shown)}: ca is only for spices:// (a TLS port); this URL is plain`, { details: { field: 'ca', url: shown } });
  }
  const { password } = await readDisplayPassword({
    ...(options.passwordFile === undefined ? {} : { file: options.passwordFile }),
    ...(options.passwordEnv === undefined ? {} : { envVar: options.passwordEnv }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const tls = options.caFile === undefined ? undefined : { ca: await readCaFile(options.caFile), ...(parsed.servername === undefined ? {} : { servername: parsed.servername }) };
  return { protocol: parsed.protocol, address: parsed.address, ...(tls === undefined ? {} : { tls }), ...(password === undefined ? {} : { password }) };
}
