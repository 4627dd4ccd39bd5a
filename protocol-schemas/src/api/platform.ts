/**
 * /api/v1/platforms: the OCloudView VDI platforms of platforms.yaml and, per
 * platform, its desk pools and VMs as the platform reports them (through the
 * server's own VDI client). Where a platform's password comes from is named
 * (`passwordSource`), the password never is. Records keep the platform's own
 * fields (the client's schemas are lenient), so only the ones ATP relies on
 * are spelled out here.
 */
import { z } from 'zod';

export const ApiPlatformParamsSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a platform name: letters, digits, . _ - (at most 63)'),
});

export const ApiPlatformSchema = z.strictObject({
  name: z.string(),
  url: z.string(),
  username: z.string(),
  /** "file PATH" or "env NAME". */
  passwordSource: z.string(),
  timeoutMs: z.number().int().optional(),
  /** Platform host IP → hosts.yaml name. */
  hosts: z.record(z.string(), z.string()),
});

export const ApiPlatformListSchema = z.strictObject({ file: z.string(), platforms: z.array(ApiPlatformSchema) });

export const ApiPoolSchema = z.looseObject({ id: z.string(), name: z.string() });
export const ApiPoolListSchema = z.strictObject({ platform: z.string(), pools: z.array(ApiPoolSchema) });

export const ApiPlatformVmsQuerySchema = z.strictObject({
  /** Only this desk pool's VMs (name or id). */
  pool: z.string().min(1).max(255).optional(),
});

export const ApiPlatformVmSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.number().int().optional(),
  /** running, shut-off, ... (the number when the platform sent one ATP does not know). */
  statusText: z.string(),
  poolName: z.string().optional(),
});
export const ApiPlatformVmListSchema = z.strictObject({ platform: z.string(), pool: z.string().optional(), vms: z.array(ApiPlatformVmSchema) });
