/** What `atp-host vdi pool create|enable|disable|delete` do (vdi-pool.ts defines them and loads this file when one runs). */
import { formatTable } from '../report/index.js';
import { createPoolAndWait, POOL_TYPE, type PoolCreate } from '../vdi/index.js';
import type { CliIo } from './program.js';
import { DEFAULT_POOL_CREATE_TIMEOUT_MS } from './defaults.js';
import { poolRows, vmRows, vmTable } from './vdi-lists-actions.js';
import { findModel, findPool } from '../vdi/index.js';
import { oneOf, timeoutMs, wholeNumber, withPlatformClient } from './vdi-platform-client.js';
import { printJson, seconds, type PlatformFlags } from './vdi-platform-flag.js';

export interface CreateFlags extends PlatformFlags {
  model: string;
  amount: string;
  prefix?: string;
  type?: string;
  remark?: string;
  timeout?: string;
}

export async function createPool(name: string, flags: CreateFlags, io: CliIo): Promise<void> {
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

export type PoolVerb = 'enable' | 'disable' | 'delete';

const DONE: Readonly<Record<PoolVerb, string>> = { enable: 'enabled', disable: 'disabled', delete: 'deleted' };

export async function changePool(verb: PoolVerb, ref: string, flags: PlatformFlags, io: CliIo): Promise<void> {
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
