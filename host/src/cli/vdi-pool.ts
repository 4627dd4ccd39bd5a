/**
 * `atp-host vdi pool create|enable|disable|delete`: desk pools on an
 * OCloudView platform (vdi-platform-flag.ts says how the platform is chosen).
 *
 * - `pool create NAME --model MODEL --amount N [--prefix P] [--type
 *   dedicated|shared|teaching] [--remark TEXT] [--timeout SECONDS]`: the model
 *   by name or id; waits for the creation event (default 300 s), then prints
 *   the pool and its VMs (shut off: `vdi vm start --pool NAME` starts them).
 * - `pool enable|disable|delete NAME` (name or id). Deleting a pool deletes
 *   its VMs with it.
 * Flags are checked before the platform is called.
 */
import type { Command } from 'commander';
import { formatTable } from '../report/index.js';
import { createPoolAndWait, POOL_TYPE, type PoolCreate } from '../vdi/index.js';
import type { CliIo } from './program.js';
import { poolRows, vmRows, vmTable } from './vdi-lists.js';
import { findModel, findPool } from '../vdi/index.js';
import { oneOf, printJson, seconds, timeoutMs, wholeNumber, withPlatformClient, withPlatformFlags, type PlatformFlags } from './vdi-platform-flag.js';

export const DEFAULT_POOL_CREATE_TIMEOUT_MS = 300_000;

interface CreateFlags extends PlatformFlags {
  model: string;
  amount: string;
  prefix?: string;
  type?: string;
  remark?: string;
  timeout?: string;
}

async function createPool(name: string, flags: CreateFlags, io: CliIo): Promise<void> {
  const amount = wholeNumber('--amount', flags.amount, 1);
  const type = flags.type === undefined ? POOL_TYPE.dedicated : oneOf('--type', flags.type, POOL_TYPE);
  const deadlineMs = timeoutMs(flags.timeout, DEFAULT_POOL_CREATE_TIMEOUT_MS);
  await withPlatformClient(flags, async (client, platform) => {
    const model = findModel(await client.models(), flags.model);
    const dto: PoolCreate = {
      name,
      amount,
      type,
      modelId: model.id,
      ...(flags.prefix === undefined ? {} : { domainPrefix: flags.prefix }),
      ...(flags.remark === undefined ? {} : { remark: flags.remark }),
    };
    const started = Date.now();
    io.err(`vdi pool create: ${name}: ${amount} VM${amount === 1 ? '' : 's'} from model ${model.name}; waiting up to ${seconds(deadlineMs)} for the platform\n`);
    const created = await createPoolAndWait(client, dto, { deadlineMs });
    io.err(`vdi pool create: ${name}: created in ${seconds(Date.now() - started)}\n`);
    const vms = await vmRows(client, created.domains, [created.pool]);
    if (flags.json === true) return printJson(io, { platform: platform.name, pool: created.pool, vms });
    const t = poolRows([created.pool]);
    io.out(`${formatTable(t.columns, t.rows)}\n${vmTable(vms)}`);
  });
}

type PoolVerb = 'enable' | 'disable' | 'delete';

const DONE: Readonly<Record<PoolVerb, string>> = { enable: 'enabled', disable: 'disabled', delete: 'deleted' };

async function changePool(verb: PoolVerb, ref: string, flags: PlatformFlags, io: CliIo): Promise<void> {
  await withPlatformClient(flags, async (client, platform) => {
    const pool = findPool(await client.pools(), ref);
    const vms = verb === 'delete' ? await client.poolDomains(pool.id) : [];
    if (verb === 'enable') await client.enablePool(pool.id);
    else if (verb === 'disable') await client.disablePool(pool.id);
    else await client.deletePool(pool.id);
    if (flags.json === true) return printJson(io, { platform: platform.name, pool: { id: pool.id, name: pool.name }, done: DONE[verb], ...(verb === 'delete' ? { vms: vms.map((v) => ({ id: v.id, name: v.name })) } : {}) });
    io.out(`${DONE[verb]} desk pool ${pool.name} (${pool.id})${verb === 'delete' ? ` and its ${vms.length} VM${vms.length === 1 ? '' : 's'}` : ''}\n`);
  });
}

/** Adds the `pool` group (create, enable, disable, delete) to the vdi group. */
export function registerVdiPoolCommands(group: Command, io: CliIo): void {
  const pool = group.command('pool').description('create, enable, disable or delete a desk pool');

  withPlatformFlags(pool.command('create <name>').description('create a desk pool of clones of a model and wait until the platform made them'))
    .requiredOption('--model <model>', 'the model (template) to clone, by name or id (vdi models list)')
    .requiredOption('--amount <n>', 'how many VMs')
    .option('--prefix <prefix>', 'VM name prefix (the platform names them PREFIX-1, PREFIX-2, …)')
    .option('--type <type>', `${Object.keys(POOL_TYPE).join('|')} (default dedicated)`)
    .option('--remark <text>', 'a remark shown by the platform')
    .option('--timeout <seconds>', `how long to wait for the platform (default ${DEFAULT_POOL_CREATE_TIMEOUT_MS / 1000})`)
    .action((name: string, flags: CreateFlags) => createPool(name, flags, io));

  for (const [verb, what] of [
    ['enable', 'enable a desk pool (users can get its VMs)'],
    ['disable', 'disable a desk pool'],
    ['delete', 'delete a desk pool and its VMs'],
  ] as const) {
    withPlatformFlags(pool.command(`${verb} <pool>`).description(`${what} (name or id)`)).action((ref: string, flags: PlatformFlags) => changePool(verb, ref, flags, io));
  }
}
