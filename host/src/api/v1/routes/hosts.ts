/**
 * /api/v1/hosts: list (hosts.yaml plus this machine as `local` when the file
 * has no such entry), add (an SSH host is connected to first with strict
 * host-key checking: an unknown key is refused unless `acceptNewHostKey`, a
 * changed one always; targets/hosts.ts, as `atp-host host add`), remove, and
 * check (connect, `virsh version` there). Identity and known_hosts files are
 * paths on the server, read by the server's user.
 */
import { ApiHostAddBodySchema, ApiHostAddResultSchema, ApiHostCheckSchema, ApiHostListSchema, ApiHostNameParamsSchema, ApiHostRemovedSchema, type ApiHost, type ApiHostAddBody } from '@atp/protocol';
import type { EffectiveHost } from '../../../config/hosts-file.js';
import { removeHost } from '../../../config/hosts-file.js';
import type { HostConfig } from '../../../config/hosts-schema.js';
import { addCheckedHost, checkHost, hostForCheck, listHosts } from '../../../targets/hosts.js';
import { defineRoute, type ApiRoute } from '../route.js';

const TAG = 'hosts';

/** The API's view of a host: undefined fields dropped, where it comes from. */
export function apiHost(host: EffectiveHost, source: 'hosts.yaml' | 'default'): ApiHost {
  if (host.kind === 'local') {
    return { name: host.name, kind: 'local', libvirtUri: host.libvirtUri, ...(host.maxConcurrency === undefined ? {} : { maxConcurrency: host.maxConcurrency }), source };
  }
  return {
    name: host.name,
    kind: 'ssh',
    host: host.host,
    port: host.port,
    user: host.user,
    ...(host.identityFile === undefined ? {} : { identityFile: host.identityFile }),
    agent: host.agent,
    knownHostsFile: host.knownHostsFile,
    libvirtUri: host.libvirtUri,
    ...(host.maxConcurrency === undefined ? {} : { maxConcurrency: host.maxConcurrency }),
    ...(host.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: host.connectTimeoutMs }),
    source: 'hosts.yaml',
  };
}

/** The hosts.yaml entry a POST body describes (hosts-file.ts checks it again with the file's own schema). */
function hostConfigOf(body: ApiHostAddBody): HostConfig {
  const { name: _name, ...rest } = body;
  if (rest.kind === 'local') return rest;
  const { acceptNewHostKey: _accept, ...ssh } = rest;
  return ssh;
}

export function hostRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/hosts',
      summary: 'The hypervisors: hosts.yaml entries, and this machine as `local` unless hosts.yaml defines it',
      tag: TAG,
      response: ApiHostListSchema,
      handler: async (_request, context) => {
        const listed = await listHosts(context.location, { withDefaultLocal: true });
        return { file: listed.file, hosts: listed.hosts.map((h, i) => apiHost(h, listed.defaultLocal && i === 0 ? 'default' : 'hosts.yaml')) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/hosts',
      summary: 'Add a host to hosts.yaml (an SSH host is connected to first, with strict host-key checking)',
      tag: TAG,
      body: ApiHostAddBodySchema,
      response: ApiHostAddResultSchema,
      status: 201,
      handler: async ({ body }, context) => {
        const { name } = body;
        const added = await addCheckedHost(name, hostConfigOf(body), context.location, { acceptNewHostKey: body.kind === 'ssh' && body.acceptNewHostKey === true });
        if (added.recordedHostKey !== undefined) context.log(`api: recorded new host key for host '${name}': ${added.recordedHostKey.type} ${added.recordedHostKey.fingerprint} in ${added.recordedHostKey.knownHostsFile}`);
        return {
          added: apiHost(added.added, 'hosts.yaml'),
          file: added.file,
          ...(added.hostKey === undefined ? {} : { hostKey: added.hostKey }),
          ...(added.recordedHostKey === undefined ? {} : { recordedHostKey: added.recordedHostKey }),
        };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/hosts/:name',
      summary: 'Remove a host from hosts.yaml (known_hosts is left alone)',
      tag: TAG,
      params: ApiHostNameParamsSchema,
      response: ApiHostRemovedSchema,
      handler: async ({ params }, context) => {
        const after = await removeHost(params.name, context.location);
        return { removed: params.name, file: after.file };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/hosts/:name/check',
      summary: 'Connect to a host (strict host-key check) and run `virsh version` there',
      tag: TAG,
      params: ApiHostNameParamsSchema,
      response: ApiHostCheckSchema,
      handler: async ({ params }, context) => checkHost(await hostForCheck(params.name, context.location)),
    }),
  ];
}
