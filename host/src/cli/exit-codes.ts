/**
 * Which exit code an error that reached `runCli` gets, and the line that names
 * it. Apart from program.ts because it needs `AtpError` from @atp/protocol,
 * whose index builds every schema: `runCli` loads this file only when a
 * command failed with something other than a commander usage error.
 */
import { CommanderError } from 'commander';
import { AtpError, type AtpErrorCode } from '@atp/protocol';
import { EXIT_INFRA, EXIT_OK, EXIT_USAGE } from './exit-status.js';

/** Error codes that mean "the user asked for something invalid", not "the machinery failed". */
const USAGE_CODES: ReadonlySet<AtpErrorCode> = new Set<AtpErrorCode>([
  'ATP_SCHEMA_INVALID', 'ATP_KEY_UNKNOWN', 'ATP_PROTOCOL_VERSION',
  'ATP_SCENARIO_READ', 'ATP_SCENARIO_YAML', 'ATP_SCENARIO_INVALID', 'ATP_INJECT_UNMAPPED_CHAR', 'ATP_INJECT_LAYOUT_UNKNOWN',
  'ATP_CONFIG_READ', 'ATP_CONFIG_YAML', 'ATP_CONFIG_HOST_UNKNOWN', 'ATP_CONFIG_HOST_EXISTS', 'ATP_RUN_NO_TARGETS',
  'ATP_VDI_PLATFORM_CHOICE', 'ATP_VDI_POOL_UNKNOWN', 'ATP_VDI_MODEL_UNKNOWN', 'ATP_VDI_VM_UNKNOWN', 'ATP_VDI_USER_UNKNOWN', 'ATP_VDI_GROUP_UNKNOWN', 'ATP_VDI_NAME_AMBIGUOUS',
  'ATP_CONFIG_PLATFORM_UNKNOWN', 'ATP_CONFIG_PLATFORM_EXISTS', 'ATP_LIBVIRT_CLONE', 'ATP_VDI_ARGUMENT', 'ATP_VDI_CREDENTIALS',
  'ATP_VDI_SIM_SEED', 'ATP_DISPLAY_URL', 'ATP_DISPLAY_CREDENTIALS', 'ATP_SECRET_SOURCE', 'ATP_CONFIG_FILE_MODE',
]);

/** Error codes that mean "the command ran and some of its VMs failed" (exit 1, like verify). */
const FAILED_CODES: ReadonlySet<AtpErrorCode> = new Set<AtpErrorCode>(['ATP_VDI_VMS_FAILED']);

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (error instanceof AtpError && FAILED_CODES.has(error.code)) return 1;
  if (error instanceof AtpError) return USAGE_CODES.has(error.code) ? EXIT_USAGE : EXIT_INFRA;
  return EXIT_INFRA;
}

/** `atp-host: CODE: message` for a failed command. */
export function errorLine(error: unknown): string {
  const code = error instanceof AtpError ? `${error.code}: ` : '';
  return `atp-host: ${code}${error instanceof Error ? error.message : String(error)}\n`;
}
