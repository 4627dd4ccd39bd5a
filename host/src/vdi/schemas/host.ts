/**
 * Host (hypervisor) schemas of the OCloudView contract: HostVO and the list
 * queries. `ip` is where libvirt runs for the VMs whose hostId names the host.
 * Hand-written from api-subset.json under the leniency policy of common.ts.
 */
import { z } from 'zod';
import { id, opt, optNumber, optString, optTime, statusInt } from './common.js';

/** Host `status`: 0 maintenance, 1 enabled, 2 closed, 3 offline. */
export const HOST_STATUS = { maintenance: 0, enabled: 1, closed: 2, offline: 3 } as const;

/** `HostVO`: id, name and status are what the client relies on; ip is checked where used (placement.ts). */
export const hostSchema = z.looseObject({
  id,
  name: z.string(),
  status: statusInt,
  ip: optString(),
  arch: optString(),
  cpu: optString(),
  cpuSize: optNumber(),
  createTime: optTime(),
  domainLimit: optNumber(),
  extranetIp: optString(),
  extranetIpV6: optString(),
  ipV6: optString(),
  manufacturer: optString(),
  memory: optNumber(),
  model: optString(),
  physicalMemory: optNumber(),
  poolId: optString(),
  poolName: optString(),
  runningDomainCount: opt(z.number()),
  vmcId: optString(),
});
export type HostVO = z.output<typeof hostSchema>;

/** Query of `GET /ocloud/v1/host` (paging added by the walker). */
export const hostPageQuerySchema = z.strictObject({
  arch: z.string().optional(),
  name: z.string().optional(),
  poolId: z.string().optional(),
  status: z.string().optional(),
});
export type HostPageQuery = z.input<typeof hostPageQuerySchema>;

/** Query of `GET /ocloud/v1/host/all`. */
export const hostAllQuerySchema = z.strictObject({
  arch: z.string().optional(),
  name: z.string().optional(),
  notBindPool: z.number().int().optional(),
  poolId: z.string().optional(),
  status: z.string().optional(),
  vmcId: z.string().optional(),
});
export type HostAllQuery = z.input<typeof hostAllQuerySchema>;
