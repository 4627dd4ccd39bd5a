/**
 * Resolves the agent's configuration: command-line flags > ATP_AGENT_*
 * environment variables > config file (YAML or JSON) > defaults. Every value is
 * validated with the schema of config-schema.ts; an error names its source (the
 * file path, "environment" or "command line") and the field (the key, variable
 * or flag). A token file (or `-`, standard input) is read by config-token.ts:
 * on Linux it must be private to its owner. A secret setting's value is never
 * quoted in an error.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { AtpError, parseWith, schemaError } from '@atp/protocol';
import { AgentConfigFileSchema, CONFIG_FILE_ENV, DEFAULTS, SETTINGS } from './config-schema.js';
import { readTokenFile } from './config-token.js';
import type { AgentConfigFile, CaptureBackendName, LogLevel, SettingKey, SettingSpec } from './config-schema.js';
import { DEFAULT_VIRTIO_PORT } from './link/index.js';
import type { LinkKind } from './link/index.js';

export interface AgentConfig {
  agentId: string;
  token: string;
  link: LinkKind;
  endpoint: string;
  resendCapacity: number;
  batchWindowMs: number;
  logLevel: LogLevel;
  capture: CaptureBackendName;
  devices: string[];
  allowExec: boolean;
  shutdownTimeoutMs: number;
  watchdogMs: number;
  maxDevices: number;
  virtioDevRoot?: string;
  virtioSysRoot?: string;
  evdevDir?: string;
  evdevDevicesFile?: string;
  configFile?: string;
  /** Where each setting came from. */
  sources: Partial<Record<SettingKey, SourceName>>;
}

export type SourceName = 'default' | 'file' | 'env' | 'flag';

/** Raw command-line values as commander gives them (strings, booleans, string lists). */
export type FlagValues = Partial<Record<SettingKey | 'config', string | boolean | string[]>>;

export interface LoadConfigInput {
  flags?: FlagValues;
  env?: Readonly<Record<string, string | undefined>>;
  /** Default: os.hostname(). */
  hostname?: string;
  /** Where `tokenFile: -` reads the token (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

type Layer = { source: SourceName; label: string; values: AgentConfigFile };

export async function loadAgentConfig(input: LoadConfigInput = {}): Promise<AgentConfig> {
  const env = input.env ?? {};
  const flags = input.flags ?? {};
  const flagFile = flags.config;
  const configFile = typeof flagFile === 'string' ? flagFile : env[CONFIG_FILE_ENV];
  const layers: Layer[] = [];
  if (configFile !== undefined && configFile !== '') layers.push({ source: 'file', label: configFile, values: await readConfigFile(configFile) });
  layers.push({ source: 'env', label: 'environment', values: fromStrings(SETTINGS.map((s) => [s, env[s.env]]), 'environment', (s) => s.env) });
  layers.push({ source: 'flag', label: 'command line', values: fromStrings(SETTINGS.map((s) => [s, flags[s.key]]), 'command line', (s) => `--${s.flag}`) });

  const sources: AgentConfig['sources'] = {};
  const merged: AgentConfigFile = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values) as [SettingKey, unknown][]) {
      if (value === undefined) continue;
      (merged as Record<string, unknown>)[key] = value;
      sources[key] = layer.source;
    }
  }
  const link = merged.link ?? DEFAULTS.link;
  const endpoint = merged.endpoint ?? (link === 'virtio' ? DEFAULT_VIRTIO_PORT : undefined);
  if (endpoint === undefined) {
    throw new AtpError('ATP_AGENT_CONFIG', `endpoint: required for a ${link} link (set --endpoint, ATP_AGENT_ENDPOINT or endpoint in the config file)`, {
      details: { field: 'endpoint' },
    });
  }
  const config: AgentConfig = {
    agentId: merged.agentId ?? agentIdFromHostname(input.hostname ?? hostname()),
    token: await resolveToken(layers, input.stdin),
    link,
    endpoint,
    resendCapacity: merged.resendCapacity ?? DEFAULTS.resendCapacity,
    batchWindowMs: merged.batchWindowMs ?? DEFAULTS.batchWindowMs,
    logLevel: merged.logLevel ?? DEFAULTS.logLevel,
    capture: merged.capture ?? DEFAULTS.capture,
    devices: merged.devices ?? [...DEFAULTS.devices],
    allowExec: merged.allowExec ?? DEFAULTS.allowExec,
    shutdownTimeoutMs: merged.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs,
    watchdogMs: merged.watchdogMs ?? DEFAULTS.watchdogMs,
    maxDevices: merged.maxDevices ?? DEFAULTS.maxDevices,
    sources,
  };
  if (merged.virtioDevRoot !== undefined) config.virtioDevRoot = merged.virtioDevRoot;
  if (merged.virtioSysRoot !== undefined) config.virtioSysRoot = merged.virtioSysRoot;
  if (merged.evdevDir !== undefined) config.evdevDir = merged.evdevDir;
  if (merged.evdevDevicesFile !== undefined) config.evdevDevicesFile = merged.evdevDevicesFile;
  if (configFile !== undefined && configFile !== '') config.configFile = configFile;
  return config;
}

async function readConfigFile(file: string): Promise<AgentConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new AtpError('ATP_AGENT_CONFIG', `${file}: cannot read the agent config file: ${(cause as Error).message}`, { cause, details: { file } });
  }
  let data: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    data = parseYaml(text, { prettyErrors: false }) as unknown;
  } catch (cause) {
    // The parser's message only, never a quote of the file: it may hold the token.
    const offset = (cause as { pos?: [number, number] }).pos?.[0];
    const at = offset === undefined ? '' : `:${text.slice(0, offset).split('\n').length}:${offset - text.lastIndexOf('\n', offset - 1)}`;
    const reason = (cause as Error).message.split('\n')[0] ?? '';
    throw new AtpError('ATP_AGENT_CONFIG', `${file}${at}: not valid YAML or JSON: ${reason}`, { cause, details: { file } });
  }
  return parseWith(AgentConfigFileSchema, data ?? {}, { source: file, what: 'agent config' });
}

/** Environment or flag values (strings) → typed settings; errors name the variable or flag. */
function fromStrings(entries: [SettingSpec, string | boolean | string[] | undefined][], source: string, field: (s: SettingSpec) => string): AgentConfigFile {
  const out: Record<string, unknown> = {};
  for (const [spec, raw] of entries) {
    if (raw === undefined || raw === '') continue;
    const value = coerce(spec, raw);
    const schema = AgentConfigFileSchema.shape[spec.key];
    const result = schema.safeParse(value);
    if (!result.success) {
      const message = result.error.issues[0]?.message ?? 'invalid value';
      const got = spec.secret === true ? '' : ` (got ${JSON.stringify(raw)})`;
      throw schemaError([{ path: [field(spec)], pathText: field(spec), message: `${message}${got}`, code: 'invalid_value' }], {
        source,
        what: 'agent config',
      });
    }
    out[spec.key] = result.data;
  }
  return out as AgentConfigFile;
}

function coerce(spec: SettingSpec, raw: string | boolean | string[]): unknown {
  if (typeof raw !== 'string') return raw;
  switch (spec.kind) {
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return raw;
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    default:
      return raw;
  }
}

/** The highest-precedence source that sets token or tokenFile decides; setting both there is an error. */
async function resolveToken(layers: Layer[], stdin: NodeJS.ReadableStream | undefined): Promise<string> {
  for (const layer of [...layers].reverse()) {
    const { token, tokenFile } = layer.values;
    if (token !== undefined && tokenFile !== undefined) {
      throw new AtpError('ATP_AGENT_CONFIG', `${layer.label}: set token or tokenFile, not both`, { details: { source: layer.label, field: 'token' } });
    }
    if (token !== undefined) return token;
    if (tokenFile !== undefined) return readTokenFile(tokenFile, layer.label, stdin === undefined ? {} : { stdin });
  }
  throw new AtpError('ATP_AGENT_CONFIG', 'token: required (set --token / --token-file, ATP_AGENT_TOKEN / ATP_AGENT_TOKEN_FILE, or token / tokenFile in the config file)', {
    details: { field: 'token' },
  });
}

/** A hostname made into a valid agent id. */
export function agentIdFromHostname(name: string): string {
  const id = name.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128);
  return id === '' ? 'atp-agent' : id;
}
