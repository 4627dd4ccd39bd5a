/** Small typed QGA commands: ping, guest-info, guest-get-osinfo. */
import { executeParsed, type QgaExecuteOptions, type QgaExecutor } from './executor.js';
import { emptyReturnSchema, guestInfoSchema, guestOsInfoSchema, type GuestInfo, type GuestOsInfo } from './messages.js';

export async function ping(executor: QgaExecutor, options?: QgaExecuteOptions): Promise<void> {
  await executeParsed(executor, 'guest-ping', emptyReturnSchema, undefined, options);
}

export interface QgaInfo {
  version: string;
  commands: { name: string; enabled: boolean }[];
}

export async function info(executor: QgaExecutor, options?: QgaExecuteOptions): Promise<QgaInfo> {
  const raw: GuestInfo = await executeParsed(executor, 'guest-info', guestInfoSchema, undefined, options);
  return { version: raw.version, commands: raw.supported_commands.map((c) => ({ name: c.name, enabled: c.enabled })) };
}

export function osInfo(executor: QgaExecutor, options?: QgaExecuteOptions): Promise<GuestOsInfo> {
  return executeParsed(executor, 'guest-get-osinfo', guestOsInfoSchema, undefined, options);
}
