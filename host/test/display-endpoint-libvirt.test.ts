/**
 * Display endpoints from real libvirt domains (qemu:///system on this
 * machine's libvirtd): a running domain with <graphics type='spice'
 * passwd=…> and one with <graphics type='vnc' passwd=…>. The endpoint has
 * libvirt's autoport port always and the password only when the XML was read
 * with --security-info; the project's SPICE and VNC clients log in with it
 * (and are refused without it); asking for a protocol the domain lacks is
 * ATP_DISPLAY_NONE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { endpointFromGraphics } from '../src/display/endpoint-sources.js';
import { linkChannel } from '../src/display/spice/link.js';
import { connectVnc } from '../src/display/vnc/client.js';
import { buildDomainXml, VirshLibvirtClient } from '../src/vm/libvirt/index.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from './support/libvirtd.js';

const SPICE_PASSWORD = 'lv-spice-ticket';
const VNC_PASSWORD = 'lvvnc12';
const spiceDomain = testDomainName('atp-disp-spice');
const vncDomain = testDomainName('atp-disp-vnc');
let client: VirshLibvirtClient;
let release: (() => Promise<void>) | undefined;

beforeAll(async () => {
  release = await acquireLibvirtSuiteLock();
  await ensureLibvirtd();
  client = new VirshLibvirtClient({ uri: SYSTEM_URI });
  // Transient domains (create): SeaBIOS with nothing to boot keeps running, which is all a display server needs.
  await client.create(buildDomainXml({ name: spiceDomain, graphics: { type: 'spice', port: 'auto', passwd: SPICE_PASSWORD } }), { timeoutMs: 60_000 });
  await client.create(buildDomainXml({ name: vncDomain, graphics: { type: 'vnc', port: 'auto', listen: '0.0.0.0', passwd: VNC_PASSWORD } }), { timeoutMs: 60_000 });
}, 180_000);

afterAll(async () => {
  await client?.close();
  await removeDomain(spiceDomain);
  await removeDomain(vncDomain);
  await release?.();
}, 60_000);

describe('display endpoints from libvirt domains', () => {
  it('SPICE: the autoport port always, the password only with --security-info', async () => {
    const plain = await client.domainGraphics(spiceDomain, { securityInfo: false });
    expect(plain.securityInfo).toBe(false);
    expect(plain.graphics[0]?.passwd).toBeUndefined();
    const withoutSecrets = endpointFromGraphics(plain.graphics, { domain: plain.domain, protocol: 'spice', hypervisorHost: '127.0.0.1' });
    expect(withoutSecrets.address).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
    expect(withoutSecrets.password).toBeUndefined();

    const secure = await client.domainGraphics(spiceDomain);
    expect(secure.securityInfo).toBe(true);
    const endpoint = endpointFromGraphics(secure.graphics, { domain: secure.domain, protocol: 'spice', hypervisorHost: '127.0.0.1' });
    expect(endpoint).toEqual({ ...withoutSecrets, password: SPICE_PASSWORD });
    const port = endpoint.address.kind === 'tcp' ? endpoint.address.port : 0;
    expect(port).toBeGreaterThanOrEqual(5900);

    // The port is the one QEMU really serves, and the password the one it wants.
    const linked = await linkChannel(endpoint, { channelType: 1, channelId: 0, connectionId: 0 }, 20_000);
    linked.socket.destroy();
    const refused = await linkChannel(withoutSecrets, { channelType: 1, channelId: 0, connectionId: 0 }, 20_000).catch((e: unknown) => e);
    expect(isAtpError(refused, 'ATP_SPICE_AUTH')).toBe(true);
  });

  it('VNC listening on 0.0.0.0: the host libvirt was reached on, and the password with --security-info', async () => {
    const secure = await client.domainGraphics(vncDomain);
    expect(secure.graphics[0]?.listens).toEqual([{ type: 'address', address: '0.0.0.0' }]);
    const endpoint = endpointFromGraphics(secure.graphics, { domain: secure.domain, protocol: 'vnc', hypervisorHost: 'localhost' });
    expect(endpoint).toMatchObject({ protocol: 'vnc', address: { kind: 'tcp', host: 'localhost' }, password: VNC_PASSWORD });
    const { client: vnc } = await connectVnc(endpoint, { timeoutMs: 20_000 });
    await vnc.close();
    const plain = await client.domainGraphics(vncDomain, { securityInfo: false });
    const refused = await connectVnc(endpointFromGraphics(plain.graphics, { domain: vncDomain, protocol: 'vnc', hypervisorHost: 'localhost' }), { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(isAtpError(refused, 'ATP_VNC_AUTH')).toBe(true);
  });

  it('a protocol the domain has no graphics for is ATP_DISPLAY_NONE naming the domain', async () => {
    const { graphics, domain } = await client.domainGraphics(spiceDomain);
    const error = (() => {
      try {
        return endpointFromGraphics(graphics, { domain, protocol: 'vnc', hypervisorHost: '127.0.0.1' });
      } catch (e) {
        return e;
      }
    })();
    expect(isAtpError(error, 'ATP_DISPLAY_NONE')).toBe(true);
    expect((error as Error).message).toContain(`domain ${spiceDomain}: has no <graphics type='vnc'> (graphics: spice)`);
  });
});
