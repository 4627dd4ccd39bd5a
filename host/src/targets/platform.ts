/**
 * A VDI platform's VMs as run targets. `platformClient` opens the OCloudView
 * client for a platforms.yaml entry (password from its file, variable or a
 * prompt, read once, on the first login). `platformTargets` lists a desk
 * pool's VMs (or the platform's VMs matching a selector), places each on its
 * hypervisor (DomainVO.hostId → HostVO.ip) and maps that IP to a hosts.yaml
 * entry: the platform entry's `hosts` map, else a loopback IP is this machine;
 * any other unmapped IP is an error naming the IP, the VMs on it and what to
 * add. Each VM becomes a libvirt target (domain matched by the platform's
 * name); only running VMs are targets, the others are listed as skipped with
 * their platform status. The identity check against the libvirt UUID happens
 * when the target opens (the agent's session is bound to that domain).
 */
import { AtpError } from '@atp/protocol';
import type { ConfigLocation } from '../config/paths.js';
import type { EffectivePlatform } from '../config/platforms-file.js';
import { describeDomainStatus, DOMAIN_STATUS, OCloudClient, placeDomains, readPassword, type DomainVO, type Placement, type VdiCallLog } from '../vdi/index.js';
import { platformDisplayEndpoint, type PlatformDisplayClient } from '../display/endpoint-sources.js';
import { libvirtOpener } from './libvirt-target.js';
import type { TargetOpener } from './target.js';
import { selectNames, type SelectOptions } from './vm-glob.js';

export function platformClient(platform: EffectivePlatform, options: { env?: NodeJS.ProcessEnv; prompt?: false; log?: (entry: VdiCallLog) => void } = {}): OCloudClient {
  return new OCloudClient({
    baseUrl: platform.url,
    username: platform.username,
    password: async () =>
      (
        await readPassword({
          ...(platform.password.kind === 'file' ? { file: platform.password.file } : { envVar: platform.password.name }),
          ...(options.env === undefined ? {} : { env: options.env }),
          ...(options.prompt === false ? { prompt: false } : {}),
          label: `${platform.username}@${platform.name}`,
        })
      ).password,
    ...(platform.timeoutMs === undefined ? {} : { timeoutMs: platform.timeoutMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

/** The hosts.yaml name reaching a platform host's libvirt; undefined = this machine. */
export function hypervisorFor(platform: EffectivePlatform, ip: string): string | undefined | null {
  const mapped = platform.hosts[ip];
  if (mapped !== undefined) return mapped;
  return LOOPBACK.test(ip) ? undefined : null;
}

export interface PlatformTargetsOptions extends SelectOptions {
  /** A desk pool's name or id; absent = every VM of the platform. */
  pool?: string;
  /** A selector over VM names (glob, re:REGEX, comma list); default all. */
  vms?: string;
  /** The token the VMs' agents present (one per pool: clones share it). */
  token: string;
  location?: ConfigLocation;
  /** How long each VM's agent may take to connect when its target opens (default libvirtOpener's, 120 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface PlatformVm extends Placement {
  /** hosts.yaml name; undefined = this machine. */
  hypervisor: string | undefined;
  status: number | undefined;
}

export interface PlatformTargets {
  openers: TargetOpener[];
  /** The selected running VMs, in platform order. */
  vms: PlatformVm[];
  /** Selected VMs that are not running (no target), with their status text. */
  skipped: { name: string; status: string }[];
  /** Every VM name the pool (or platform) has: for "matched nothing" messages. */
  seen: string[];
}

async function poolVms(client: OCloudClient, pool: string, signal: AbortSignal | undefined): Promise<DomainVO[]> {
  const call = signal === undefined ? {} : { signal };
  const pools = await client.pools({}, call);
  const found = pools.find((p) => p.id === pool) ?? pools.find((p) => p.name === pool);
  if (found === undefined) {
    throw new AtpError('ATP_RUN_NO_TARGETS', `no desk pool named or with id '${pool}' (pools: ${pools.map((p) => p.name).join(', ') || 'none'})`, { details: { pool, seen: pools.map((p) => p.name) } });
  }
  return client.poolDomains(found.id, call);
}

export async function platformTargets(client: OCloudClient, platform: EffectivePlatform, options: PlatformTargetsOptions): Promise<PlatformTargets> {
  const call = options.signal === undefined ? {} : { signal: options.signal };
  const domains = options.pool === undefined ? await client.domains({}, call) : await poolVms(client, options.pool, options.signal);
  const seen = domains.map((d) => d.name);
  const names = selectNames(options.vms ?? '*', seen, { ...(options.exclude === undefined ? {} : { exclude: options.exclude }), ...(options.limit === undefined ? {} : { limit: options.limit }) });
  const chosen = domains.filter((d) => names.includes(d.name));
  const running = chosen.filter((d) => d.status === DOMAIN_STATUS.running);
  const skipped = chosen.filter((d) => d.status !== DOMAIN_STATUS.running).map((d) => ({ name: d.name, status: describeDomainStatus(d.status) }));
  const placed = placeDomains(running, running.length === 0 ? [] : await client.hosts({}, call));
  const unmapped = new Map<string, string[]>();
  const vms: PlatformVm[] = [];
  for (const p of placed) {
    const hypervisor = hypervisorFor(platform, p.hostIp);
    if (hypervisor === null) unmapped.set(p.hostIp, [...(unmapped.get(p.hostIp) ?? []), p.domainName]);
    else vms.push({ ...p, hypervisor, status: running.find((d) => d.id === p.platformId)?.status });
  }
  if (unmapped.size > 0) {
    const list = [...unmapped].map(([ip, vmNames]) => `${ip} (${vmNames.join(', ')})`).join('; ');
    throw new AtpError('ATP_VDI_PLACEMENT', `platform ${platform.name}: no hosts.yaml entry reaches the hypervisor at ${list}; add \`hosts: { IP: HOSTNAME }\` to the platform in platforms.yaml`, {
      details: { platform: platform.name, ips: [...unmapped.keys()] },
    });
  }
  const openers = vms.map((vm) =>
    withPlatformDisplay(
      libvirtOpener(vm.hypervisor === undefined ? vm.domainName : `${vm.domainName}@${vm.hypervisor}`, {
        token: options.token,
        ...(options.location === undefined ? {} : { location: options.location }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      }),
      client,
      { id: vm.platformId, name: vm.domainName },
    ),
  );
  return { openers, vms, skipped, seen };
}

/**
 * A platform VM's display as its users reach it: the platform's spice-key
 * (host, port, and the ticket as the SPICE password) or its port list and a
 * fresh VNC password, rather than the hypervisor's libvirt XML.
 */
export function withPlatformDisplay(opener: TargetOpener, client: PlatformDisplayClient, vm: { id: string; name: string }): TargetOpener {
  return {
    label: opener.label,
    open: async (context) => {
      const target = await opener.open(context);
      return { ...target, display: (protocol) => platformDisplayEndpoint(client, vm, protocol, { signal: context.signal }) };
    },
  };
}
