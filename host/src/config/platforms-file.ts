/**
 * Reads and writes platforms.yaml (through yaml-config.ts, like hosts.yaml)
 * and resolves a platform by name with its defaults applied and paths made
 * absolute. Where the password comes from is resolved here; reading it is the
 * VDI client's credentials module's job (file mode check, prompt).
 */
import path from 'node:path';
import { AtpError, parseWith } from '@atp/protocol';
import { configDir, expandPath, type ConfigLocation } from './paths.js';
import { DEFAULT_PASSWORD_ENV, platformSchema, platformsFileSchema, type PlatformConfig } from './platforms-schema.js';
import { editConfigFile, loadConfigFile, type ConfigFileKind } from './yaml-config.js';

export interface LoadedPlatforms {
  file: string;
  exists: boolean;
  platforms: Record<string, PlatformConfig>;
}

export interface EffectivePlatform {
  name: string;
  url: string;
  username: string;
  password: { kind: 'file'; file: string } | { kind: 'env'; name: string };
  timeoutMs: number | undefined;
  /** Platform host IP → hosts.yaml name. */
  hosts: Record<string, string>;
}

export const DEFAULT_PLATFORMS_YAML = `# ATP VDI platforms: OCloudView management servers (atp-host platform add|list|remove|check).
#
#   office:
#     url: http://10.0.0.2:8088          # the management server (API under /ocloud/v1)
#     username: admin
#     passwordFile: ~/.config/atp/office.password   # mode 0600; or passwordEnv: NAME (default ATP_VDI_PASSWORD)
#     timeoutMs: 10000
#     hosts:                             # platform host IP -> hosts.yaml name reaching its libvirt
#       10.0.0.11: hv1
#
# Passwords are never written here or taken from the command line.
version: 1
platforms:
`;

const KIND: ConfigFileKind<typeof platformsFileSchema> = { what: 'platforms config', schema: platformsFileSchema, section: 'platforms', defaultText: DEFAULT_PLATFORMS_YAML };

export function platformsFilePath(location: ConfigLocation = {}): string {
  return path.join(configDir(location), 'platforms.yaml');
}

export async function loadPlatforms(location: ConfigLocation = {}): Promise<LoadedPlatforms> {
  const file = platformsFilePath(location);
  const { exists, value } = await loadConfigFile(KIND, file);
  return { file, exists, platforms: value.platforms };
}

/** A platform by name with defaults applied, or ATP_CONFIG_PLATFORM_UNKNOWN. */
export function effectivePlatform(loaded: LoadedPlatforms, name: string, env: NodeJS.ProcessEnv = process.env): EffectivePlatform {
  const p = loaded.platforms[name];
  if (p === undefined) {
    const known = Object.keys(loaded.platforms);
    throw new AtpError('ATP_CONFIG_PLATFORM_UNKNOWN', `${loaded.file}: no platform named '${name}' (known: ${known.length > 0 ? known.join(', ') : 'none'}; atp-host platform add)`, { details: { file: loaded.file, platform: name } });
  }
  const dir = path.dirname(loaded.file);
  return {
    name,
    url: p.url.replace(/\/+$/, ''),
    username: p.username,
    password: p.passwordFile !== undefined ? { kind: 'file', file: expandPath(p.passwordFile, dir, env) } : { kind: 'env', name: p.passwordEnv ?? DEFAULT_PASSWORD_ENV },
    timeoutMs: p.timeoutMs,
    hosts: { ...p.hosts },
  };
}

export async function addPlatform(name: string, platform: PlatformConfig, location: ConfigLocation = {}): Promise<LoadedPlatforms> {
  const checked = parseWith(platformSchema, platform, { source: `platform '${name}'` });
  const file = platformsFilePath(location);
  const after = await editConfigFile(KIND, file, (doc, before) => {
    if (before.platforms[name] !== undefined) throw new AtpError('ATP_CONFIG_PLATFORM_EXISTS', `${file}: platform '${name}' already exists (atp-host platform remove ${name} first)`, { details: { file, platform: name } });
    doc.setIn(['platforms', name], doc.createNode(checked));
  });
  return { file, exists: true, platforms: after.platforms };
}

export async function removePlatform(name: string, location: ConfigLocation = {}): Promise<LoadedPlatforms> {
  const file = platformsFilePath(location);
  const after = await editConfigFile(KIND, file, (doc, before) => {
    effectivePlatform({ file, exists: true, platforms: before.platforms }, name); // throws ATP_CONFIG_PLATFORM_UNKNOWN
    doc.deleteIn(['platforms', name]);
  });
  return { file, exists: true, platforms: after.platforms };
}
