/**
 * hosts.yaml: the hypervisors ATP reaches. `hosts` maps a name to
 * `{ kind: local }` (this machine) or `{ kind: ssh, host, port, user,
 * identityFile | agent: true, knownHostsFile?, libvirtUri?, maxConcurrency?,
 * connectTimeoutMs? }`. Unknown fields are errors (a typo must not be ignored).
 */
import { z } from 'zod';

export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const DEFAULT_LIBVIRT_URI = 'qemu:///system';
export const DEFAULT_SSH_PORT = 22;

const common = {
  libvirtUri: z.string().min(1).optional(),
  /** Channels and calls in flight at once on this host. */
  maxConcurrency: z.number().int().min(1).max(1024).optional(),
};

export const localHostSchema = z.object({ kind: z.literal('local'), ...common }).strict();

export const sshHostSchema = z
  .object({
    kind: z.literal('ssh'),
    host: z.string().min(1).regex(/^[^\s,[\]]+$/, 'a host name or address without spaces, commas or brackets'),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).regex(/^[^\s@:]+$/, 'a user name without spaces, @ or :'),
    identityFile: z.string().min(1).optional(),
    agent: z.literal(true).optional(),
    knownHostsFile: z.string().min(1).optional(),
    connectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
    ...common,
  })
  .strict()
  .refine((h) => h.identityFile !== undefined || h.agent === true, { message: 'needs identityFile or agent: true', path: ['identityFile'] });

export const hostSchema = z.discriminatedUnion('kind', [localHostSchema, sshHostSchema]);

export const hostsFileSchema = z
  .object({
    version: z.literal(1).optional(),
    hosts: z
      .record(z.string().regex(HOST_NAME, 'host names are letters, digits, . _ - (at most 63)'), hostSchema)
      .nullish()
      .transform((h) => h ?? {}),
  })
  .strict();

export type LocalHostConfig = z.output<typeof localHostSchema>;
export type SshHostConfig = z.output<typeof sshHostSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type HostsFile = z.output<typeof hostsFileSchema>;
