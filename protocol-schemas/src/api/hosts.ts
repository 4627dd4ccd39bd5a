/**
 * /api/v1/hosts: the hypervisors ATP reaches (hosts.yaml, plus this machine as
 * `local` when hosts.yaml has no entry of that name), adding an SSH or local
 * host (an SSH host is connected to first with strict host-key checking, as
 * `atp-host host add` does), removing one, and checking one (connect, then
 * `virsh version` there). The shapes mirror `atp-host host … --json`.
 */
import { z } from 'zod';

/** hosts.yaml names: letters, digits, . _ - (at most 63), as config/hosts-schema.ts. */
export const API_HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const ApiHostNameParamsSchema = z.strictObject({
  name: z.string().regex(API_HOST_NAME, 'a host name: letters, digits, . _ - (at most 63)'),
});

const common = {
  libvirtUri: z.string().min(1).max(1024).optional(),
  maxConcurrency: z.number().int().min(1).max(1024).optional(),
};

/** A host as ATP uses it: every default applied, paths absolute. `source` says where it comes from. */
export const ApiHostSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    name: z.string(),
    kind: z.literal('local'),
    libvirtUri: z.string(),
    maxConcurrency: z.number().int().optional(),
    /** 'hosts.yaml', or 'default' for this machine when hosts.yaml has no `local`. */
    source: z.enum(['hosts.yaml', 'default']),
  }),
  z.strictObject({
    name: z.string(),
    kind: z.literal('ssh'),
    host: z.string(),
    port: z.number().int(),
    user: z.string(),
    identityFile: z.string().optional(),
    agent: z.boolean(),
    knownHostsFile: z.string(),
    libvirtUri: z.string(),
    maxConcurrency: z.number().int().optional(),
    connectTimeoutMs: z.number().int().optional(),
    source: z.literal('hosts.yaml'),
  }),
]);
export type ApiHost = z.output<typeof ApiHostSchema>;

export const ApiHostListSchema = z.strictObject({
  /** The hosts.yaml file the server reads. */
  file: z.string(),
  hosts: z.array(ApiHostSchema),
});

/**
 * POST /api/v1/hosts. An SSH host needs `identityFile` (a file on the server)
 * or `agent: true` (the server's SSH_AUTH_SOCK). Its key must already be in
 * `knownHostsFile` (default ~/.ssh/known_hosts of the server's user) unless
 * `acceptNewHostKey` is true, which records a key that is not there yet; a
 * changed key is never accepted.
 */
export const ApiHostAddBodySchema = z.discriminatedUnion('kind', [
  z.strictObject({ name: ApiHostNameParamsSchema.shape.name, kind: z.literal('local'), ...common }),
  z
    .strictObject({
      name: ApiHostNameParamsSchema.shape.name,
      kind: z.literal('ssh'),
      host: z.string().min(1).max(255).regex(/^[^\s,[\]@]+$/, 'a host name or address without spaces, commas, brackets or @'),
      port: z.number().int().min(1).max(65535).optional(),
      user: z.string().min(1).max(64).regex(/^[^\s@:]+$/, 'a user name without spaces, @ or :'),
      identityFile: z.string().min(1).max(4096).optional(),
      agent: z.literal(true).optional(),
      knownHostsFile: z.string().min(1).max(4096).optional(),
      connectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
      acceptNewHostKey: z.boolean().optional(),
      ...common,
    })
    .refine((h) => h.identityFile !== undefined || h.agent === true, { message: 'an ssh host needs identityFile or agent: true', path: ['identityFile'] }),
]);
export type ApiHostAddBody = z.output<typeof ApiHostAddBodySchema>;

export const ApiHostKeySchema = z.strictObject({ type: z.string(), fingerprint: z.string() });

export const ApiHostAddResultSchema = z.strictObject({
  added: ApiHostSchema,
  file: z.string(),
  /** The key the SSH host presented (checked against known_hosts). */
  hostKey: ApiHostKeySchema.optional(),
  /** Set when `acceptNewHostKey` recorded a key that was not known yet. */
  recordedHostKey: ApiHostKeySchema.extend({ knownHostsFile: z.string() }).optional(),
});

export const ApiHostRemovedSchema = z.strictObject({ removed: z.string(), file: z.string() });

/** POST /api/v1/hosts/:name/check: as `atp-host host check --json`. */
export const ApiHostCheckSchema = z.strictObject({
  name: z.string(),
  kind: z.enum(['local', 'ssh']),
  ok: z.literal(true),
  /** "this machine" or user@host:port. */
  target: z.string(),
  hostKey: ApiHostKeySchema.optional(),
  connectMs: z.number().optional(),
  libvirtUri: z.string(),
  virshVersion: z.string(),
});
