/**
 * A platform VM's status as a word (`running`, `shut-off`, ...), the way
 * `atp-host vdi vms list` prints it, its --status flag takes it and the HTTP
 * API's /api/v1/platforms/:name/vms spells it; a status ATP does not know is
 * shown as its number. Moved out of cli/vdi-lists.ts for the API.
 */
import { DOMAIN_STATUS } from './schemas/domain.js';

/** Domain status names as flags and table cells spell them. */
export const DOMAIN_STATUS_NAMES: Readonly<Record<string, number>> = {
  'shut-off': DOMAIN_STATUS.shutOff,
  running: DOMAIN_STATUS.running,
  suspended: DOMAIN_STATUS.suspended,
  hibernated: DOMAIN_STATUS.hibernated,
  busy: DOMAIN_STATUS.busy,
  upgrading: DOMAIN_STATUS.upgrading,
};

/** The name of a value in a name → number table ('?' for none, the number when unknown). */
export const nameOfStatus = (table: Readonly<Record<string, number>>, value: number | undefined): string => (value === undefined ? '?' : (Object.entries(table).find(([, v]) => v === value)?.[0] ?? String(value)));

/** `running`, `shut-off`, … (the number when the platform sent one we do not know). */
export const domainStatusName = (status: number | undefined): string => nameOfStatus(DOMAIN_STATUS_NAMES, status);
