/** Parses the `--listen ADDR:PORT` form of the API server address. */
import { AtpError } from '@atp/protocol';

export interface ListenAddress {
  host: string;
  port: number;
}

export const DEFAULT_API_HOST = '127.0.0.1';

/**
 * Accepts "HOST:PORT", "[IPv6]:PORT", ":PORT" and "PORT" (host defaults to
 * 127.0.0.1; port 0 picks a free one). Throws ATP_SCHEMA_INVALID otherwise.
 */
export function parseListenAddress(text: string, defaultHost = DEFAULT_API_HOST): ListenAddress {
  const value = text.trim();
  let host = defaultHost;
  let portText = value;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(value);
  if (bracketed !== null) {
    host = bracketed[1] ?? defaultHost;
    portText = bracketed[2] ?? '';
  } else if (value.includes(':')) {
    const colon = value.lastIndexOf(':');
    const before = value.slice(0, colon);
    if (before.includes(':') || /\s/.test(before)) portText = '';
    else if (before !== '') host = before;
    if (portText !== '') portText = value.slice(colon + 1);
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `listen address ${JSON.stringify(text)} is not HOST:PORT, [IPv6]:PORT, :PORT or PORT (port 0-65535)`, {
      details: { listen: text },
    });
  }
  return { host, port };
}

/** host:port for URLs (IPv6 in brackets). */
export function urlHost(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
