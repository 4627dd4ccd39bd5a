/**
 * @atp/host's version, read from host/package.json (two folders above both
 * src/cli and dist/cli). Its own file because `atp-host --version` must not
 * load anything else.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' && pkg.version !== '') return pkg.version;
  } catch {
    // fall through
  }
  return '0.0.0';
}

export const HOST_VERSION = readVersion();
