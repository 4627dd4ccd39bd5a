/**
 * /api/v1/hosts/:name/vms: the libvirt domains of a host with their state
 * (`virsh list --all` there), as `atp-host vm list --host NAME --json`.
 * `local` is this machine unless hosts.yaml defines its own `local`.
 */
import { ApiHostNameParamsSchema, ApiVmListSchema } from '@atp/protocol';
import { openLibvirtHost } from '../../../targets/domains.js';
import { defineRoute, type ApiRoute } from '../route.js';

export function vmRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/hosts/:name/vms',
      summary: "A host's libvirt domains with their state",
      tag: 'vms',
      params: ApiHostNameParamsSchema,
      response: ApiVmListSchema,
      handler: async ({ params }, context) => {
        // No host is this machine: hosts.yaml's `local` when it has one, else qemu:///system (openLibvirtHost).
        const h = await openLibvirtHost(params.name === 'local' ? undefined : params.name, context.location);
        try {
          const domains = await h.client.listDomains();
          return { host: h.host.name, uri: h.host.libvirtUri, domains: domains.map((d) => ({ name: d.name, ...(d.id === undefined ? {} : { id: d.id }), state: d.state })) };
        } finally {
          await h.close();
        }
      },
    }),
  ];
}
