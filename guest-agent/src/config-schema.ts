/**
 * The agent's settings in one table: the config-file key, its environment
 * variable and command-line flag, its type and default. config.ts reads the
 * three sources from this table and the CLI builds its flags from it, so the
 * names cannot drift apart (README "Configuration" lists the same table).
 */
import { z } from 'zod';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LINK_KINDS = ['virtio', 'tcp', 'ws'] as const;
/** 'stdin-json' is a testing aid: events as JSON lines on standard input. */
export const CAPTURE_BACKENDS = ['linux-evdev', 'windows-hooks', 'stdin-json'] as const;
export type CaptureBackendName = (typeof CAPTURE_BACKENDS)[number];

const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;

/** The config file: every key optional (defaults and other sources fill in), unknown keys refused. */
export const AgentConfigFileSchema = z.strictObject({
  agentId: z.string().min(1).max(128).regex(ID_PATTERN, 'expected letters, digits and . _ : -').optional(),
  token: z.string().min(1).max(4096).optional(),
  tokenFile: z.string().min(1).optional(),
  link: z.enum(LINK_KINDS).optional(),
  endpoint: z.string().min(1).optional(),
  resendCapacity: z.number().int().min(1).max(10_000_000).optional(),
  batchWindowMs: z.number().int().min(0).max(60_000).optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  capture: z.enum(CAPTURE_BACKENDS).optional(),
  devices: z.array(z.string().min(1)).max(256).optional(),
  allowExec: z.boolean().optional(),
  shutdownTimeoutMs: z.number().int().min(0).max(60_000).optional(),
  watchdogMs: z.number().int().min(1_000).max(3_600_000).optional(),
  maxDevices: z.number().int().min(1).max(4_096).optional(),
  virtioDevRoot: z.string().min(1).optional(),
  virtioSysRoot: z.string().min(1).optional(),
  evdevDir: z.string().min(1).optional(),
  evdevDevicesFile: z.string().min(1).optional(),
});
export type AgentConfigFile = z.output<typeof AgentConfigFileSchema>;
export type SettingKey = keyof AgentConfigFile;

export type SettingKind = 'string' | 'int' | 'bool' | 'list';

export interface SettingSpec {
  key: SettingKey;
  env: `ATP_AGENT_${string}`;
  /** Long flag without the dashes. */
  flag: string;
  kind: SettingKind;
  description: string;
  /** A secret: its value is never quoted in an error, and on the command line it draws a warning. */
  secret?: true;
}

export const SETTINGS: readonly SettingSpec[] = [
  { key: 'agentId', env: 'ATP_AGENT_ID', flag: 'agent-id', kind: 'string', description: 'agent id in the hello (default: the hostname)' },
  { key: 'token', env: 'ATP_AGENT_TOKEN', flag: 'token', kind: 'string', description: 'token the host expects (this or tokenFile is required); on the command line ps shows it: prefer tokenFile', secret: true },
  { key: 'tokenFile', env: 'ATP_AGENT_TOKEN_FILE', flag: 'token-file', kind: 'string', description: 'file holding the token (trimmed; mode 0600 on Linux); - reads standard input' },
  { key: 'link', env: 'ATP_AGENT_LINK', flag: 'link', kind: 'string', description: 'virtio | tcp | ws (default virtio)' },
  { key: 'endpoint', env: 'ATP_AGENT_ENDPOINT', flag: 'endpoint', kind: 'string', description: 'virtio port name or path / host:port / ws(s):// URL' },
  { key: 'resendCapacity', env: 'ATP_AGENT_RESEND_CAPACITY', flag: 'resend-capacity', kind: 'int', description: 'unacknowledged events kept for resending (default 100000)' },
  { key: 'batchWindowMs', env: 'ATP_AGENT_BATCH_WINDOW_MS', flag: 'batch-window-ms', kind: 'int', description: 'least time between two event batches under load (default 2)' },
  { key: 'logLevel', env: 'ATP_AGENT_LOG_LEVEL', flag: 'log-level', kind: 'string', description: 'debug | info | warn | error (default info)' },
  { key: 'capture', env: 'ATP_AGENT_CAPTURE', flag: 'capture', kind: 'string', description: 'linux-evdev | windows-hooks | stdin-json (default linux-evdev; windows-hooks on Windows)' },
  { key: 'devices', env: 'ATP_AGENT_DEVICES', flag: 'device', kind: 'list', description: 'capture only these device ids (comma-separated in the environment)' },
  { key: 'allowExec', env: 'ATP_AGENT_ALLOW_EXEC', flag: 'allow-exec', kind: 'bool', description: 'run exec requests from the host (default off)' },
  { key: 'shutdownTimeoutMs', env: 'ATP_AGENT_SHUTDOWN_TIMEOUT_MS', flag: 'shutdown-timeout-ms', kind: 'int', description: 'how long SIGTERM waits for the last acks (default 2000)' },
  { key: 'watchdogMs', env: 'ATP_AGENT_WATCHDOG_MS', flag: 'watchdog-ms', kind: 'int', description: 'a part (link, capture, threadpool) stuck this long is reported (default 30000)' },
  { key: 'maxDevices', env: 'ATP_AGENT_MAX_DEVICES', flag: 'max-devices', kind: 'int', description: 'most input devices captured at once (default 128)' },
  { key: 'virtioDevRoot', env: 'ATP_AGENT_VIRTIO_DEV_ROOT', flag: 'virtio-dev-root', kind: 'string', description: 'where virtio port nodes live (default /dev)' },
  { key: 'virtioSysRoot', env: 'ATP_AGENT_VIRTIO_SYS_ROOT', flag: 'virtio-sys-root', kind: 'string', description: 'sysfs root to scan for port names (default /sys)' },
  { key: 'evdevDir', env: 'ATP_AGENT_EVDEV_DIR', flag: 'evdev-dir', kind: 'string', description: 'where the evdev nodes live (default /dev/input)' },
  { key: 'evdevDevicesFile', env: 'ATP_AGENT_EVDEV_DEVICES_FILE', flag: 'evdev-devices-file', kind: 'string', description: 'the input device list (default /proc/bus/input/devices)' },
];

/** The config file path may come from --config or this variable. */
export const CONFIG_FILE_ENV = 'ATP_AGENT_CONFIG';

export const DEFAULTS = {
  link: 'virtio',
  resendCapacity: 100_000,
  batchWindowMs: 2,
  logLevel: 'info',
  capture: 'linux-evdev',
  devices: [] as string[],
  allowExec: false,
  shutdownTimeoutMs: 2_000,
  watchdogMs: 30_000,
  maxDevices: 128,
} as const satisfies Partial<Record<SettingKey, unknown>>;
