/**
 * The VMs input blocks, exec steps and agentConnected go to: the target's
 * desk pool (its name may hold `${…}`, resolved now), narrowed by the
 * target's selector, exclusion and limit (targets/platform.ts lists, places
 * and narrows them), then by each `select:` step so far, in order. Only
 * running VMs get a libvirt target (NAME, or NAME@HOST for a hypervisor from
 * platforms.yaml); the others are listed with their platform status.
 * Nothing left: ATP_RUN_NO_TARGETS listing the VMs seen.
 */
import { selectNames, libvirtOpener, platformTargets, withPlatformDisplay, type PlatformVm, type TargetOpener } from '../../targets/index.js';
import { substitute, type StepContext } from './context.js';

export interface SelectedVm {
  /** The platform's VM name (the libvirt domain's). */
  name: string;
  /** NAME or NAME@HOST: the libvirt domain and the hosts.yaml host it is on. */
  spec: string;
  placed: PlatformVm;
}

export interface Selection {
  pool: string;
  /** Selected VMs that run, in the platform's order. */
  running: SelectedVm[];
  /** Selected VMs that do not run, with their platform status. */
  notRunning: { name: string; status: string }[];
}

export async function currentSelection(ctx: StepContext): Promise<Selection> {
  const { pool, vms, exclude, limit } = substitute({ pool: ctx.target.pool, vms: ctx.target.vms, exclude: ctx.target.exclude, limit: ctx.target.limit }, ctx, ['target']);
  const found = await platformTargets(ctx.client, ctx.platform, {
    pool,
    token: ctx.token,
    location: ctx.location,
    signal: ctx.signal,
    ...(vms === undefined ? {} : { vms }),
    ...(exclude === undefined ? {} : { exclude }),
    ...(limit === undefined ? {} : { limit }),
  });
  const chosen = new Set([...found.vms.map((v) => v.domainName), ...found.skipped.map((s) => s.name)]);
  let names = found.seen.filter((n) => chosen.has(n));
  for (const f of ctx.filters) {
    names = selectNames(f.vms ?? '*', names, { ...(f.exclude === undefined ? {} : { exclude: f.exclude }), ...(f.limit === undefined ? {} : { limit: f.limit }) });
  }
  const kept = new Set(names);
  return {
    pool,
    running: found.vms.filter((v) => kept.has(v.domainName)).map((v) => ({ name: v.domainName, spec: v.hypervisor === undefined ? v.domainName : `${v.domainName}@${v.hypervisor}`, placed: v })),
    notRunning: found.skipped.filter((s) => kept.has(s.name)),
  };
}

/** A run-engine target opener for a selected VM (its agent bound to the domain on the run's hub). */
export function openerOf(ctx: StepContext, vm: SelectedVm, timeoutMs?: number): TargetOpener {
  const opener = libvirtOpener(vm.spec, { token: ctx.token, location: ctx.location, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  return withPlatformDisplay(opener, ctx.client, { id: vm.placed.platformId, name: vm.name });
}
