/**
 * A libvirt domain's SPICE or VNC server as a thin client reaches it: the
 * domain's <graphics> read with the security-info flag (libvirt hides the
 * password otherwise), the listen address resolved against the hypervisor
 * the run reached (a wildcard listen means that host's address; a remote
 * loopback or unix-socket listen is out of reach and says so).
 * Undefined when the domain has no graphics of that type.
 */
import type { DisplayEndpoint, DisplayProtocol } from '../display/endpoint.js';
import { endpointFromGraphics } from '../display/endpoint-sources.js';
import type { OpenedDomain } from './domains.js';

export function libvirtDisplay(opened: Pick<OpenedDomain, 'client' | 'domain' | 'host'>): (protocol: DisplayProtocol) => Promise<DisplayEndpoint | undefined> {
  return async (protocol) => {
    const info = await opened.client.domainGraphics(opened.domain);
    if (!info.graphics.some((g) => g.type === protocol)) return undefined;
    const hypervisorHost = opened.host.kind === 'ssh' ? opened.host.host : '127.0.0.1';
    return endpointFromGraphics(info.graphics, { domain: opened.domain, protocol, hypervisorHost });
  };
}
