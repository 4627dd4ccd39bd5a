/**
 * Where a platform VM runs, for connecting to it through libvirt. Pure.
 *
 * DomainVO.hostId names a HostVO; its `ip` is the hypervisor (libvirt at
 * qemu+tcp://IP/system or over SSH). Earlier tools found the libvirt domain by
 * the platform's domain `name`, so that is the match; once the libvirt UUID is
 * known, `identity` says whether it also equals the platform id
 * ('uuid-match', a stronger binding) or not ('name-only'). UUIDs compare
 * case-insensitively and without dashes.
 */
import { AtpError } from '@atp/protocol';
import type { DomainVO } from './schemas/domain.js';
import type { HostVO } from './schemas/host.js';

export interface Placement {
  /** The platform's domain id. */
  platformId: string;
  /** The platform's domain name: the libvirt domain's name. */
  domainName: string;
  hostId: string;
  hostIp: string;
  hostName: string;
}

export type IdentityMatch = 'uuid-match' | 'name-only';

export interface PlacedIdentity extends Placement {
  libvirtUuid: string;
  identity: IdentityMatch;
}

interface Unplaced {
  id: string;
  name: string;
  reason: string;
}

/** Resolves every VM to its hypervisor; one ATP_VDI_PLACEMENT naming every VM that cannot be placed. */
export function placeDomains(domains: readonly DomainVO[], hosts: readonly HostVO[]): Placement[] {
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const placed: Placement[] = [];
  const unplaced: Unplaced[] = [];
  for (const d of domains) {
    const hostId = d.hostId;
    if (hostId === undefined || hostId === '') {
      unplaced.push({ id: d.id, name: d.name, reason: 'has no hostId (the platform has not placed it on a host)' });
      continue;
    }
    const host = byId.get(hostId);
    if (host === undefined) {
      unplaced.push({ id: d.id, name: d.name, reason: `names host ${hostId}, which the host list does not have (${hosts.length} hosts)` });
      continue;
    }
    if (host.ip === undefined || host.ip === '') {
      unplaced.push({ id: d.id, name: d.name, reason: `runs on host ${host.name} (${host.id}), which has no ip` });
      continue;
    }
    placed.push({ platformId: d.id, domainName: d.name, hostId: host.id, hostIp: host.ip, hostName: host.name });
  }
  if (unplaced.length > 0) {
    const lines = unplaced.map((u) => `VM ${u.name} (${u.id}) ${u.reason}`);
    throw new AtpError('ATP_VDI_PLACEMENT', `cannot place ${unplaced.length} of ${domains.length} VMs on a hypervisor: ${lines.join('; ')}`, { details: { vms: unplaced } });
  }
  return placed;
}

/** `3F2A…-…` and `3f2a…` are the same UUID. */
export function sameUuid(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/-/g, '').toLowerCase();
  return norm(a) !== '' && norm(a) === norm(b);
}

/** The placement with the libvirt domain's UUID and whether it is the platform's id. */
export function withLibvirtUuid(placement: Placement, libvirtUuid: string): PlacedIdentity {
  return { ...placement, libvirtUuid, identity: sameUuid(placement.platformId, libvirtUuid) ? 'uuid-match' : 'name-only' };
}
