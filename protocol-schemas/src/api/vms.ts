/**
 * /api/v1/hosts/:name/vms: the libvirt domains of a host with their state,
 * as `atp-host vm list --host NAME --json` prints them. `local` is this
 * machine (qemu:///system) unless hosts.yaml defines its own `local`.
 */
import { z } from 'zod';

/** libvirt's domain states as ATP names them (vm/libvirt/output-codec.ts). */
export const API_DOMAIN_STATES = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'unknown'] as const;

export const ApiDomainSchema = z.strictObject({
  name: z.string(),
  /** The hypervisor's id while the domain runs; absent when it is inactive. */
  id: z.number().int().optional(),
  state: z.enum(API_DOMAIN_STATES),
});

export const ApiVmListSchema = z.strictObject({
  host: z.string(),
  /** The libvirt URI the host's virsh uses. */
  uri: z.string(),
  domains: z.array(ApiDomainSchema),
});
export type ApiVmList = z.output<typeof ApiVmListSchema>;
