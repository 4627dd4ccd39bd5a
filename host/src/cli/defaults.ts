/**
 * Defaults and choices that a command's help names and its action applies,
 * in one file that loads nothing: definitions import it for their help text,
 * the *-actions.ts files for the value (an action file never imports its
 * definition file: that would be an import cycle).
 */
import type { PointerButton } from '../inject/index.js';

/** `vm clone` / `unclone`: the clone root dir when --dir is not given, on whichever host the clones run (persists across reboots, unlike /tmp). */
export const DEFAULT_CLONE_ROOT = '/var/tmp/atp-clones';

/** `mouse click`: the buttons it takes. */
export const MOUSE_BUTTONS: readonly PointerButton[] = ['left', 'right', 'middle', 'side', 'extra'];

/** `runs export --format`. */
export const RUNS_EXPORT_FORMATS = ['json', 'junit', 'html'] as const;

/**
 * `runs list --status`: @atp/protocol's RUN_STATUSES, spelled out here so the
 * help does not load the protocol's schemas (host/test/cli-start.test.ts checks the
 * two lists agree; the action checks the flag against RUN_STATUSES itself).
 */
export const RUN_STATUS_NAMES: readonly string[] = ['queued', 'running', 'cancelling', 'passed', 'failed', 'error', 'cancelled', 'interrupted'];

/** `vdi vms list --status`: the keys of vdi/status-names.ts DOMAIN_STATUS_NAMES (checked by host/test/cli-start.test.ts). */
export const VDI_VM_STATUS_WORDS: readonly string[] = ['shut-off', 'running', 'suspended', 'hibernated', 'busy', 'upgrading'];

/** `vdi pool create --type`: the keys of vdi/schemas/pool.ts POOL_TYPE (checked by host/test/cli-start.test.ts). */
export const VDI_POOL_TYPE_WORDS: readonly string[] = ['dedicated', 'shared', 'teaching'];

/** `vdi pool create`: how long it waits for the platform by default. */
export const DEFAULT_POOL_CREATE_TIMEOUT_MS = 300_000;

/** `vdi vm start|stop|reboot`: how long they wait for the VMs by default. */
export const DEFAULT_POWER_TIMEOUT_MS = 120_000;

/** `vdi simulate`: the real platform's port. */
export const DEFAULT_SIMULATE_PORT = 8088;

/** `vdi simulate --host`: vdi-sim's DEFAULT_SIM_HOST (checked by host/test/cli-start.test.ts). */
export const DEFAULT_SIMULATE_HOST = '127.0.0.1';

/** `serve --listen`. */
export const DEFAULT_SERVE_LISTEN = '127.0.0.1:8470';

/** `serve --agent-id`: the agent id in the printed page URL. */
export const DEFAULT_SERVE_AGENT_ID = 'web';
