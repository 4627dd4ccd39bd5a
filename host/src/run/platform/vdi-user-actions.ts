/**
 * `vdi:` actions about users and display access:
 *  - bindUser: binds a VM set to a user (by sAMAccountName or id, found
 *    through the organisation-unit tree); a VM the platform did not bind fails
 *    the step naming it. `as:` gets {user, userId, vms, value: user}.
 *  - connectionInfo: the display details of a user's bound VMs or of a VM set
 *    (SPICE host and port from the spice key, the VNC and SPICE ports from the
 *    port list). `as:` gets {vms, hosts, spicePorts, vncPorts, value: first
 *    host}. The SPICE ticket the platform answers is never kept: not in the
 *    variables, the report or the log.
 */
import { AtpError } from '@atp/protocol';
import type { DomainVO } from '../../vdi/index.js';
import { asAtpError, listNames, mapLimit, type StepContext, type StepDone, type VmResult } from './context.js';
import { findUser, vmsOf } from './names.js';
import { describeVmSet, type VdiActionHandlers, type VdiArgs } from './vdi-types.js';

/** Display queries at once (each is one or two small GETs). */
const DISPLAY_CONCURRENCY = 4;

async function bindUser(a: VdiArgs<'bindUser'>, ctx: StepContext): Promise<StepDone> {
  const { vms, what } = await vmsOf(ctx.client, a.on, ctx.signal);
  if (vms.length === 0) throw new AtpError('ATP_RUN_NO_TARGETS', `bindUser ${what}: it has no VM`, { details: { action: 'bindUser' } });
  const user = await findUser(ctx.client, a.user, ctx.signal);
  const { notBound } = await ctx.client.bindUser(
    vms.map((v) => v.id),
    user.id,
    { signal: ctx.signal },
  );
  const failed = vms.filter((v) => notBound.includes(v.id));
  const results: VmResult[] = vms.map((v) => (notBound.includes(v.id) ? { vm: v.name, ok: false, detail: `not bound to ${user.sAMAccountName}` } : { vm: v.name, ok: true, detail: `bound to ${user.sAMAccountName}` }));
  const names = vms.map((v) => v.name);
  const error =
    failed.length === 0
      ? undefined
      : new AtpError(
          'ATP_VDI_VMS_FAILED',
          `bindUser ${what} to ${user.sAMAccountName}: the platform did not bind ${failed.length} of ${vms.length} VMs: ${listNames(failed.map((v) => v.name))} (bound to someone else, in a shared pool, or the user already has a VM of this dedicated pool)`,
          { details: { user: user.sAMAccountName, notBound: failed.map((v) => ({ id: v.id, name: v.name })) } },
        );
  return { vms: results, vars: { user: user.sAMAccountName, userId: user.id, vms: names, value: user.sAMAccountName }, ...(error === undefined ? {} : { error }) };
}

interface Display {
  host: string;
  spicePort: number;
  vncPort: number | undefined;
}

async function displayOf(ctx: StepContext, vm: DomainVO): Promise<Display> {
  // The answer carries the ticket (`key`): only the host and port are read from it.
  const { ip, port } = await ctx.client.spiceKey(vm.id, { signal: ctx.signal });
  const ports = await ctx.client.ports(vm.id, { signal: ctx.signal });
  return { host: ip, spicePort: port, vncPort: ports.find((p) => p.type.toLowerCase() === 'vnc')?.value };
}

async function connectionInfo(a: VdiArgs<'connectionInfo'>, ctx: StepContext): Promise<StepDone> {
  let vms: DomainVO[];
  let what: string;
  if ('user' in a) {
    const user = await findUser(ctx.client, a.user, ctx.signal);
    vms = (await ctx.client.domains({}, { signal: ctx.signal })).filter((d) => d.userId === user.id);
    what = `user ${user.sAMAccountName}'s VMs`;
    if (vms.length === 0) throw new AtpError('ATP_RUN_NO_TARGETS', `connectionInfo: no VM is bound to user ${user.sAMAccountName}`, { details: { user: user.sAMAccountName } });
  } else {
    ({ vms, what } = await vmsOf(ctx.client, a.on, ctx.signal));
    if (vms.length === 0) throw new AtpError('ATP_RUN_NO_TARGETS', `connectionInfo ${what}: it has no VM`, { details: { action: 'connectionInfo' } });
  }
  const displays = await mapLimit(vms, DISPLAY_CONCURRENCY, async (vm) => {
    try {
      return { vm, display: await displayOf(ctx, vm) };
    } catch (error) {
      return { vm, error: asAtpError(error, `connectionInfo of ${vm.name}`) };
    }
  });
  const results: VmResult[] = displays.map((d) =>
    d.display === undefined ? { vm: d.vm.name, ok: false, detail: d.error?.message ?? 'failed' } : { vm: d.vm.name, ok: true, detail: `${d.display.host} spice ${d.display.spicePort}${d.display.vncPort === undefined ? '' : ` vnc ${d.display.vncPort}`}` },
  );
  const failed = displays.filter((d) => d.display === undefined);
  const first = failed[0]?.error;
  const error =
    first === undefined
      ? undefined
      : new AtpError(failed.length === 1 ? first.code : 'ATP_VDI_VMS_FAILED', `connectionInfo of ${what}: ${failed.length} of ${vms.length} VMs gave no display details: ${failed.map((d) => `${d.vm.name}: ${d.error?.message ?? 'failed'}`).join('; ')}`, {
          details: { failed: failed.map((d) => ({ name: d.vm.name, code: d.error?.code })) },
        });
  const ok = displays.flatMap((d) => (d.display === undefined ? [] : [{ vm: d.vm.name, ...d.display }]));
  return {
    vms: results,
    vars: { vms: ok.map((d) => d.vm), hosts: ok.map((d) => d.host), spicePorts: ok.map((d) => d.spicePort), vncPorts: ok.flatMap((d) => (d.vncPort === undefined ? [] : [d.vncPort])), value: ok[0]?.host ?? '' },
    ...(error === undefined ? {} : { error }),
  };
}

export const USER_ACTIONS: VdiActionHandlers<'bindUser' | 'connectionInfo'> = {
  bindUser: { describe: (a) => `bindUser ${describeVmSet(a.on)} to ${a.user}`, run: bindUser },
  connectionInfo: { describe: (a) => ('user' in a ? `connectionInfo of user ${a.user}` : `connectionInfo of ${describeVmSet(a.on)}`), run: connectionInfo },
};
