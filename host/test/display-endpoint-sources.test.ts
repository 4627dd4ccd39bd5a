/**
 * Display endpoints from a libvirt domain and from the VDI platform, pure:
 * parseDomainGraphics on libvirt 9.0's real dumpxml of running domains (taken
 * on this machine, with and without --security-info) and on hand-made
 * variants; endpointFromGraphics's listen/port/TLS/password rules; the
 * platform's spice key, port list and VNC password; and that OCloudClient fits
 * PlatformDisplayClient.
 */
import { describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { endpointFromGraphics, endpointFromPlatform, platformDisplayEndpoint, type PlatformDisplayClient } from '../src/display/endpoint-sources.js';
import type { OCloudClient } from '../src/vdi/client.js';
import { parseDomainGraphics } from '../src/vm/libvirt/graphics-xml.js';

/** `virsh dumpxml --security-info` of a running TCG domain (libvirt 9.0, QEMU 7.2), devices trimmed to the graphics and their neighbours. */
const LIVE_SECURE = `<domain type='qemu' id='2'>
  <name>atp-capture-graphics</name>
  <uuid>123119d1-8ef7-4a25-9175-f2028b94f85c</uuid>
  <memory unit='KiB'>65536</memory>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <input type='tablet' bus='usb'>
      <alias name='input0'/>
      <address type='usb' bus='0' port='1'/>
    </input>
    <graphics type='spice' port='5900' autoport='yes' listen='0.0.0.0' passwd='sp-secret' passwdValidTo='2099-01-01T00:00:00'>
      <listen type='address' address='0.0.0.0'/>
      <channel name='inputs' mode='insecure'/>
    </graphics>
    <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1' passwd='vncpw'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <audio id='1' type='none'/>
    <video>
      <model type='vga' vram='16384' heads='1' primary='yes'/>
      <alias name='video0'/>
    </video>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+0:+0</label>
  </seclabel>
</domain>
`;
/** The same domain read without --security-info: libvirt leaves passwd out. */
const LIVE = LIVE_SECURE.replace(" passwd='sp-secret'", '').replace(" passwd='vncpw'", '');
/** A running domain whose displays listen on unix sockets (libvirt names SPICE's socket itself). */
const LIVE_SOCKETS = `<domain type='qemu' id='3'><name>atp-capture-graphics2</name><devices>
    <graphics type='spice' passwd='sp-secret' passwdValidTo='2099-01-01T00:00:00'>
      <listen type='socket' socket='/var/lib/libvirt/qemu/domain-3-atp-capture-graphics/spice.sock'/>
      <channel name='inputs' mode='insecure'/>
    </graphics>
    <graphics type='vnc' socket='/tmp/le/lv/vnc.sock' passwd='vncpw'>
      <listen type='socket' socket='/tmp/le/lv/vnc.sock'/>
    </graphics>
</devices></domain>`;

const local = { domain: 'd', hypervisorHost: '127.0.0.1' } as const;

function failure(fn: () => unknown): { code: string; message: string; details: Readonly<Record<string, unknown>> } {
  try {
    fn();
  } catch (error) {
    if (!isAtpError(error)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
  throw new Error('expected a failure');
}

describe('parseDomainGraphics', () => {
  it("reads libvirt's dumpxml of a running domain: ports, listens, channels, and passwd only with security info", () => {
    const secure = parseDomainGraphics(LIVE_SECURE);
    expect(secure.domain).toBe('atp-capture-graphics');
    expect(secure.graphics).toEqual([
      { type: 'spice', port: 5900, tlsPort: undefined, autoport: true, listens: [{ type: 'address', address: '0.0.0.0' }], passwd: 'sp-secret', passwdValidTo: '2099-01-01T00:00:00', defaultMode: undefined, channels: [{ name: 'inputs', mode: 'insecure' }] },
      { type: 'vnc', port: 5901, tlsPort: undefined, autoport: true, listens: [{ type: 'address', address: '127.0.0.1' }], passwd: 'vncpw', passwdValidTo: undefined, defaultMode: undefined, channels: [] },
    ]);
    expect(parseDomainGraphics(LIVE).graphics.map((g) => g.passwd)).toEqual([undefined, undefined]);
  });

  it('reads socket listens, a shut-off autoport (-1), a TLS port, network and none listens, legacy attributes', () => {
    expect(parseDomainGraphics(LIVE_SOCKETS).graphics.map((g) => g.listens)).toEqual([
      [{ type: 'socket', socket: '/var/lib/libvirt/qemu/domain-3-atp-capture-graphics/spice.sock' }],
      [{ type: 'socket', socket: '/tmp/le/lv/vnc.sock' }],
    ]);
    const xml = `<domain><name>x</name><devices>
      <graphics type='spice' port='-1' tlsPort='-1' autoport='yes' defaultMode='secure'><listen type='network' network='default' address='192.168.122.1'/></graphics>
      <graphics type='spice' port='5930' tlsPort='5931'><listen type='none'/></graphics>
      <graphics type='vnc' port='5902' listen='10.1.2.3'/>
      <graphics type='vnc' socket='/run/v.sock'/>
      <graphics type='sdl'/>
    </devices></domain>`;
    const [a, b, c, d, e] = parseDomainGraphics(xml).graphics;
    expect([a?.port, a?.tlsPort, a?.autoport, a?.defaultMode, a?.listens]).toEqual([undefined, undefined, true, 'secure', [{ type: 'network', network: 'default', address: '192.168.122.1' }]]);
    expect([b?.port, b?.tlsPort, b?.listens]).toEqual([5930, 5931, [{ type: 'none' }]]);
    expect(c?.listens).toEqual([{ type: 'address', address: '10.1.2.3' }]);
    expect(d?.listens).toEqual([{ type: 'socket', socket: '/run/v.sock' }]);
    expect(e).toMatchObject({ type: 'sdl', port: undefined, listens: [] });
  });

  it('a document that is not a domain is ATP_LIBVIRT_VIRSH', () => {
    expect(failure(() => parseDomainGraphics('<network><name>n</name></network>')).code).toBe('ATP_LIBVIRT_VIRSH');
    expect(failure(() => parseDomainGraphics('<domain><name>x</name><devices><graphics type="spice"></devices></domain>')).code).toBe('ATP_LIBVIRT_VIRSH');
  });
});

describe('endpointFromGraphics', () => {
  const secure = parseDomainGraphics(LIVE_SECURE).graphics;

  it('a wildcard listen means the hypervisor libvirt was reached on; passwd becomes the password', () => {
    expect(endpointFromGraphics(secure, { ...local, protocol: 'spice', hypervisorHost: '10.0.0.7' })).toEqual({ protocol: 'spice', address: { kind: 'tcp', host: '10.0.0.7', port: 5900 }, password: 'sp-secret' });
    expect(endpointFromGraphics(secure, { ...local, protocol: 'vnc' })).toEqual({ protocol: 'vnc', address: { kind: 'tcp', host: '127.0.0.1', port: 5901 }, password: 'vncpw' });
    expect(endpointFromGraphics(parseDomainGraphics(LIVE).graphics, { ...local, protocol: 'vnc' })).toEqual({ protocol: 'vnc', address: { kind: 'tcp', host: '127.0.0.1', port: 5901 } });
  });

  it('socket listens give unix endpoints on a local hypervisor only', () => {
    const sockets = parseDomainGraphics(LIVE_SOCKETS).graphics;
    expect(endpointFromGraphics(sockets, { ...local, protocol: 'vnc' })).toEqual({ protocol: 'vnc', address: { kind: 'unix', path: '/tmp/le/lv/vnc.sock' }, password: 'vncpw' });
    const remote = failure(() => endpointFromGraphics(sockets, { ...local, protocol: 'spice', hypervisorHost: 'hv2.example' }));
    expect(remote.code).toBe('ATP_DISPLAY_NONE');
    expect(remote.message).toMatch(/unix socket .* on hv2.example, out of reach/);
    expect(remote.message).not.toContain('sp-secret');
  });

  it('a loopback listen on a remote hypervisor is out of reach; a specific address is used as is', () => {
    expect(failure(() => endpointFromGraphics(secure, { ...local, protocol: 'vnc', hypervisorHost: '10.0.0.7' })).message).toMatch(/listens on 127.0.0.1 only, on the remote host 10.0.0.7/);
    const g = [{ type: 'vnc', port: 5902, tlsPort: undefined, listens: [{ type: 'address' as const, address: '10.1.2.3' }], passwd: undefined }];
    expect(endpointFromGraphics(g, { ...local, protocol: 'vnc', hypervisorHost: 'hv' }).address).toEqual({ kind: 'tcp', host: '10.1.2.3', port: 5902 });
    const v6 = [{ type: 'vnc', port: 5902, tlsPort: undefined, listens: [{ type: 'address' as const, address: '::' }], passwd: undefined }];
    expect(endpointFromGraphics(v6, { ...local, protocol: 'vnc', hypervisorHost: 'fd00::5' }).address).toEqual({ kind: 'tcp', host: 'fd00::5', port: 5902 });
  });

  it('SPICE TLS: the tlsPort with the CA; TLS-only or secure channels without a CA are ATP_DISPLAY_TLS', () => {
    const base = { type: 'spice', port: 5930, tlsPort: 5931, listens: [{ type: 'address' as const, address: '0.0.0.0' }], passwd: 't' };
    const tls = [base];
    expect(endpointFromGraphics(tls, { ...local, protocol: 'spice', hypervisorHost: 'hv', ca: 'PEM', servername: 'hv.example' })).toEqual({
      protocol: 'spice',
      address: { kind: 'tcp', host: 'hv', port: 5931 },
      tls: { ca: 'PEM', servername: 'hv.example' },
      password: 't',
    });
    expect(endpointFromGraphics(tls, { ...local, protocol: 'spice', hypervisorHost: 'hv' }).address).toEqual({ kind: 'tcp', host: 'hv', port: 5930 });
    const tlsOnly = [{ ...base, port: undefined, passwd: undefined }];
    expect(failure(() => endpointFromGraphics(tlsOnly, { ...local, protocol: 'spice' })).code).toBe('ATP_DISPLAY_TLS');
    const secureInputs = [{ ...base, channels: [{ name: 'inputs', mode: 'secure' }] }];
    expect(failure(() => endpointFromGraphics(secureInputs, { ...local, protocol: 'spice' })).message).toMatch(/requires TLS on the main or inputs channel/);
    const secureDefault = [{ ...base, defaultMode: 'secure', channels: [{ name: 'inputs', mode: 'insecure' }, { name: 'main', mode: 'insecure' }] }];
    expect(endpointFromGraphics(secureDefault, { ...local, protocol: 'spice' }).address).toMatchObject({ port: 5930 });
  });

  it('missing graphics, no port yet, or listen none: ATP_DISPLAY_NONE naming the domain and protocol', () => {
    const cases: [Parameters<typeof endpointFromGraphics>[0], 'spice' | 'vnc', RegExp][] = [
      [[], 'spice', /domain d: has no <graphics type='spice'> \(graphics: none\)/],
      [parseDomainGraphics(LIVE_SECURE).graphics.filter((g) => g.type === 'spice'), 'vnc', /has no <graphics type='vnc'> \(graphics: spice\)/],
      [[{ type: 'vnc', port: undefined, tlsPort: undefined, listens: [], passwd: undefined }], 'vnc', /no port yet/],
      [[{ type: 'spice', port: undefined, tlsPort: undefined, listens: [], passwd: undefined }], 'spice', /no port yet/],
      [[{ type: 'spice', port: 5900, tlsPort: undefined, listens: [{ type: 'none' }], passwd: 'x' }], 'spice', /listens nowhere/],
    ];
    for (const [graphics, protocol, why] of cases) {
      const f = failure(() => endpointFromGraphics(graphics, { ...local, protocol }));
      expect(f.code).toBe('ATP_DISPLAY_NONE');
      expect(f.message).toMatch(why);
      expect(f.details).toEqual({ domain: 'd', protocol });
    }
  });
});

describe('endpointFromPlatform', () => {
  const spiceKey = { ip: '10.0.0.7', port: 5903, key: 'TICKET123' };

  it("SPICE: the spice key's host and port; its key is the password", () => {
    expect(endpointFromPlatform({ spiceKey }, { vm: 'desk-01', protocol: 'spice' })).toEqual({ protocol: 'spice', address: { kind: 'tcp', host: '10.0.0.7', port: 5903 }, password: 'TICKET123' });
    expect(endpointFromPlatform({ spiceKey: { ip: '10.0.0.7', port: 0, key: '' }, ports: [{ type: 'SPICE', value: 5910 }] }, { vm: 'v', protocol: 'spice' })).toEqual({ protocol: 'spice', address: { kind: 'tcp', host: '10.0.0.7', port: 5910 } });
  });

  it('VNC: the port list, the hypervisor of the spice key (or the host given), the VNC password', () => {
    const ports = [
      { type: 'spice', value: 5903 },
      { type: 'vnc', value: 5904 },
    ];
    expect(endpointFromPlatform({ spiceKey, ports, vncPassword: 'Ab3dEf7h' }, { vm: 'v', protocol: 'vnc' })).toEqual({ protocol: 'vnc', address: { kind: 'tcp', host: '10.0.0.7', port: 5904 }, password: 'Ab3dEf7h' });
    expect(endpointFromPlatform({ ports }, { vm: 'v', protocol: 'vnc', host: 'hv3' }).address).toEqual({ kind: 'tcp', host: 'hv3', port: 5904 });
  });

  it('no display details: ATP_DISPLAY_NONE naming the VM and protocol, never the key', () => {
    const cases: [Parameters<typeof endpointFromPlatform>[0], 'spice' | 'vnc', RegExp][] = [
      [{}, 'spice', /VM desk-01: the platform gave no SPICE host/],
      [{ spiceKey: { ip: '10.0.0.7', port: 0, key: 'TICKET123' } }, 'spice', /no SPICE port/],
      [{ spiceKey, ports: [{ type: 'spice', value: 5903 }] }, 'vnc', /no VNC port \(its port list has spice\)/],
      [{ ports: [{ type: 'vnc', value: 5904 }], vncPassword: 'x' }, 'vnc', /no host for its VNC display/],
    ];
    for (const [info, protocol, why] of cases) {
      const f = failure(() => endpointFromPlatform(info, { vm: 'desk-01', protocol }));
      expect(f.code).toBe('ATP_DISPLAY_NONE');
      expect(f.message).toMatch(why);
      expect(f.message).not.toContain('TICKET123');
      expect(f.details).toEqual({ vm: 'desk-01', protocol });
    }
  });

  it('platformDisplayEndpoint asks for one VNC password, and none when the VM has no VNC port', async () => {
    const calls: string[] = [];
    const client = (ports: { type: string; value: number }[]): PlatformDisplayClient => ({
      spiceKey: (id) => (calls.push(`spiceKey ${id}`), Promise.resolve({ ip: '10.0.0.7', port: 5903, key: 'K' })),
      ports: (id) => (calls.push(`ports ${id}`), Promise.resolve(ports)),
      vncPassword: (id) => (calls.push(`vncPassword ${id}`), Promise.resolve(`pw${calls.length}`)),
    });
    const vm = { id: 'id-1', name: 'desk-01' };
    expect(await platformDisplayEndpoint(client([{ type: 'vnc', value: 5904 }]), vm, 'vnc')).toEqual({ protocol: 'vnc', address: { kind: 'tcp', host: '10.0.0.7', port: 5904 }, password: 'pw3' });
    expect(calls).toEqual(['spiceKey id-1', 'ports id-1', 'vncPassword id-1']);
    calls.length = 0;
    await expect(platformDisplayEndpoint(client([]), vm, 'vnc', { host: 'hv' })).rejects.toMatchObject({ code: 'ATP_DISPLAY_NONE' });
    expect(calls).toEqual(['ports id-1']);
    calls.length = 0;
    expect((await platformDisplayEndpoint(client([]), vm, 'spice')).password).toBe('K');
    expect(calls).toEqual(['spiceKey id-1']);
  });

  it("the VDI client's OCloudClient is a PlatformDisplayClient (type check)", () => {
    const fits = (c: OCloudClient): PlatformDisplayClient => c;
    expect(typeof fits).toBe('function');
  });
});
