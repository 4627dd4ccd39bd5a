/**
 * platforms.yaml (beside hosts.yaml): the OCloudView VDI platforms ATP talks
 * to. `platforms` maps a name to `{ url, username, passwordFile? |
 * passwordEnv?, timeoutMs?, hosts? }`. The password is never in this file: it
 * comes from a 0600 file, an environment variable (default ATP_VDI_PASSWORD)
 * or a prompt. `hosts` maps a platform host's IP (HostVO.ip) to the
 * hosts.yaml entry that reaches its libvirt; without an entry, 127.0.0.1 and
 * ::1 are this machine and any other IP needs one. Unknown fields are errors.
 */
import { z } from 'zod';
import { HOST_NAME } from './hosts-schema.js';

export const PLATFORM_NAME = HOST_NAME;
export const DEFAULT_PASSWORD_ENV = 'ATP_VDI_PASSWORD';

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'expected an http:// or https:// URL' })
  .refine((u) => !/^https?:\/\/[^/]*@/i.test(u), { message: 'credentials do not belong in the URL (use passwordFile or passwordEnv)' });

export const platformSchema = z
  .object({
    /** The management server's base URL, e.g. http://10.0.0.2:8088 (the API is under /ocloud/v1). */
    url: httpUrl,
    username: z.string().min(1).max(128),
    /** A file holding the password (mode 0600); ~/ and relative paths as in hosts.yaml. */
    passwordFile: z.string().min(1).optional(),
    /** The environment variable holding the password (default ATP_VDI_PASSWORD). */
    passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
    /** Per-request timeout in ms. */
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    /** Platform host IP → hosts.yaml name. */
    hosts: z.record(z.string().min(1), z.string().regex(HOST_NAME, 'a hosts.yaml host name')).optional(),
  })
  .strict()
  .refine((p) => p.passwordFile === undefined || p.passwordEnv === undefined, { message: 'give passwordFile or passwordEnv, not both', path: ['passwordEnv'] });

export const platformsFileSchema = z
  .object({
    version: z.literal(1).optional(),
    platforms: z
      .record(z.string().regex(PLATFORM_NAME, 'platform names are letters, digits, . _ - (at most 63)'), platformSchema)
      .nullish()
      .transform((p) => p ?? {}),
  })
  .strict();

export type PlatformConfig = z.output<typeof platformSchema>;
export type PlatformsFile = z.output<typeof platformsFileSchema>;
