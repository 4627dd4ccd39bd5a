/**
 * planClone on a realistic desktop template (the shape `virsh dumpxml
 * --inactive --security-info` prints for libvirt 9.0): every rewrite is
 * checked on the parsed result (name, uuid, sysinfo, genid, MACs, tap names,
 * files and sockets moved into the clone dir with distinct base names, the
 * console still mirroring its serial, graphics on autoport with listen and
 * passwd kept, qcow2 overlays for writable file disks, shared readonly disks
 * and cdroms, NVRAM), everything else is left as it was, and each template
 * element that cannot be cloned safely is refused typed, naming the template
 * and the element.
 */
import { describe, expect, it } from 'vitest';
import { planClone, writeXml } from '../src/vm/libvirt/clone-xml.js';
import { child, childrenNamed, parseXml, type XmlElement } from '../src/vm/libvirt/xml-codec.js';

const TEMPLATE = `<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>win-desk-tpl</name>
  <uuid>6f1c2a4e-8b3d-4c5e-9f60-1a2b3c4d5e6f</uuid>
  <genid>7e6d8c4c-2b19-4dab-9026-5402fde59bfa</genid>
  <title>Desk pool template</title>
  <memory unit='KiB'>4194304</memory>
  <vcpu placement='static'>2</vcpu>
  <sysinfo type='smbios'>
    <system>
      <entry name='manufacturer'>ATP</entry>
      <entry name='uuid'>6f1c2a4e-8b3d-4c5e-9f60-1a2b3c4d5e6f</entry>
    </system>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/win-desk-tpl_VARS.fd</nvram>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='/var/lib/libvirt/images/win-desk.qcow2'/>
      <backingStore type='file'>
        <format type='qcow2'/>
        <source file='/var/lib/libvirt/images/win-base.qcow2'/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/srv/data/win-desk.img'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/shared/tools.img'/>
      <target dev='vdc' bus='virtio'/>
      <readonly/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/vg0/scratch'/>
      <target dev='vdd' bus='virtio'/>
      <shareable/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/iso/virtio-win.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <controller type='virtio-serial' index='0'/>
    <interface type='network'>
      <mac address='52:54:00:11:22:33'/>
      <source network='default'/>
      <target dev='desk0'/>
      <model type='virtio'/>
    </interface>
    <interface type='user'>
      <mac address='52:54:00:44:55:66'/>
      <model type='e1000e'/>
    </interface>
    <serial type='file'>
      <source path='/var/log/atp/win-desk-tpl/serial.log'/>
      <target type='isa-serial' port='0'/>
    </serial>
    <serial type='pty'>
      <log file='/var/log/atp/win-desk-tpl/serial.log' append='on'/>
      <target type='isa-serial' port='1'/>
    </serial>
    <console type='file'>
      <source path='/var/log/atp/win-desk-tpl/serial.log'/>
      <target type='serial' port='0'/>
    </console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <channel type='unix'>
      <source mode='bind' path='/run/atp/win-desk-tpl/agent.sock'/>
      <target type='virtio' name='org.atp.agent.0'/>
    </channel>
    <channel type='unix'>
      <source mode='bind' path='/run/other/agent.sock'/>
      <target type='virtio' name='org.example.probe'/>
    </channel>
    <channel type='spicevmc'>
      <target type='virtio' name='com.redhat.spice.0'/>
    </channel>
    <input type='tablet' bus='usb'/>
    <input type='keyboard' bus='ps2'/>
    <graphics type='spice' port='5930' tlsPort='5931' autoport='no' listen='0.0.0.0' passwd='s3cr&amp;t'>
      <listen type='address' address='0.0.0.0'/>
      <image compression='off'/>
    </graphics>
    <graphics type='vnc' port='5940' autoport='no' websocket='5700' listen='127.0.0.1' passwd='vncpw'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <graphics type='vnc'>
      <listen type='socket' socket='/run/atp/win-desk-tpl/vnc.sock'/>
    </graphics>
    <video>
      <model type='qxl' ram='65536' vram='65536' heads='1' primary='yes'/>
    </video>
    <memballoon model='virtio'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-smbios'/>
    <qemu:arg value='type=11,value=it&apos;s atp'/>
  </qemu:commandline>
</domain>
`;

const DIR = '/var/lib/atp/clones/desk-7';
const UUID = '0b5f3c1e-1111-4222-8333-944455556666';

function devices(root: XmlElement): XmlElement[] {
  return child(root, 'devices')?.children ?? [];
}
const byName = (root: XmlElement, name: string): XmlElement[] => devices(root).filter((d) => d.name === name);
const targetDev = (d: XmlElement): string | undefined => child(d, 'target')?.attrs.dev;
const diskOf = (root: XmlElement, dev: string): XmlElement => {
  const disk = byName(root, 'disk').find((d) => targetDev(d) === dev);
  if (!disk) throw new Error(`no disk ${dev}`);
  return disk;
};
const channel = (root: XmlElement, name: string): XmlElement | undefined => byName(root, 'channel').find((c) => child(c, 'target')?.attrs.name === name);
/** Whitespace-only text between child elements does not count. */
function shape(el: XmlElement): unknown {
  return { name: el.name, attrs: el.attrs, text: el.children.length > 0 ? el.text.trim() : el.text, children: el.children.map(shape) };
}

describe('planClone: a desktop template', () => {
  const plan = planClone(TEMPLATE, { name: 'desk-7', uuid: UUID, dir: DIR });
  const root = parseXml(plan.xml);
  const template = parseXml(TEMPLATE);

  it('gives the clone its name and UUID (also in sysinfo), a new generation id, and the template nothing else of its identity', () => {
    expect(child(root, 'name')?.text).toBe('desk-7');
    expect(root.children.map((c) => c.name).slice(0, 3)).toEqual(['name', 'uuid', 'genid']);
    expect(childrenNamed(root, 'uuid').map((u) => u.text)).toEqual([UUID]);
    expect(child(root, 'genid')).toEqual({ name: 'genid', attrs: {}, children: [], text: '' });
    const entries = childrenNamed(child(child(root, 'sysinfo'), 'system'), 'entry');
    expect(entries.map((e) => [e.attrs.name, e.text])).toEqual([
      ['manufacturer', 'ATP'],
      ['uuid', UUID],
    ]);
    expect(plan.xml).not.toMatch(/<name>win-desk-tpl|\/(log|run)\/atp\/win-desk-tpl\/|\/nvram\/win-desk-tpl/);
    expect(plan.xml).not.toContain('6f1c2a4e');
  });

  it('without a UUID the clone has no <uuid> and no sysinfo uuid entry (libvirt generates one)', () => {
    const bare = parseXml(planClone(TEMPLATE, { name: 'desk-8', dir: DIR }).xml);
    expect(child(bare, 'uuid')).toBeUndefined();
    expect(childrenNamed(child(child(bare, 'sysinfo'), 'system'), 'entry').map((e) => e.attrs.name)).toEqual(['manufacturer']);
  });

  it('drops MAC addresses and tap names, keeps the rest of each interface', () => {
    const nics = byName(root, 'interface');
    expect(nics.map((n) => n.children.map((c) => c.name))).toEqual([['source', 'model'], ['model']]);
    expect(child(nics[0], 'source')?.attrs.network).toBe('default');
    expect(plan.xml).not.toMatch(/<mac /);
  });

  it('moves chardev files, sockets and logs into the clone dir, one new path per template path, base names distinct', () => {
    const log = `${DIR}/serial.log`;
    const [file, pty] = byName(root, 'serial');
    expect(child(file, 'source')?.attrs.path).toBe(log);
    expect(child(pty, 'log')?.attrs).toEqual({ file: log, append: 'on' });
    // The console mirrors serial 0: the same file, as in the template.
    expect(child(byName(root, 'console')[0], 'source')?.attrs.path).toBe(log);
    expect(child(channel(root, 'org.atp.agent.0'), 'source')?.attrs).toEqual({ mode: 'bind', path: `${DIR}/agent.sock` });
    // Another channel's socket of the same base name gets its own.
    expect(child(channel(root, 'org.example.probe'), 'source')?.attrs.path).toBe(`${DIR}/agent-2.sock`);
    expect(plan.agentSocketPath).toBe(`${DIR}/agent.sock`);
    // qemu-ga has no path in an inactive definition: libvirt makes one per domain.
    expect(channel(root, 'org.qemu.guest_agent.0')?.children.map((c) => c.name)).toEqual(['target']);
    expect(channel(root, 'com.redhat.spice.0')).toEqual(channel(template, 'com.redhat.spice.0'));
  });

  it('puts graphics on autoport, keeping listen addresses, passwords and other settings; moves a VNC socket', () => {
    const [spice, vnc, vncSocket] = byName(root, 'graphics');
    expect(spice?.attrs).toEqual({ type: 'spice', autoport: 'yes', listen: '0.0.0.0', passwd: 's3cr&t' });
    expect(spice?.children.map((c) => c.attrs)).toEqual([{ type: 'address', address: '0.0.0.0' }, { compression: 'off' }]);
    expect(vnc?.attrs).toEqual({ type: 'vnc', autoport: 'yes', websocket: '-1', listen: '127.0.0.1', passwd: 'vncpw' });
    expect(child(vnc, 'listen')?.attrs).toEqual({ type: 'address', address: '127.0.0.1' });
    expect(vncSocket?.attrs).toEqual({ type: 'vnc' });
    expect(child(vncSocket, 'listen')?.attrs).toEqual({ type: 'socket', socket: `${DIR}/vnc.sock` });
  });

  it('turns writable file disks into qcow2 overlays in the clone dir backed by the template files; shared disks stay', () => {
    expect(plan.overlays).toEqual([
      { path: `${DIR}/win-desk.qcow2`, backing: '/var/lib/libvirt/images/win-desk.qcow2', backingFormat: 'qcow2' },
      { path: `${DIR}/win-desk-2.qcow2`, backing: '/srv/data/win-desk.img', backingFormat: 'raw' },
    ]);
    const vda = diskOf(root, 'vda');
    expect(child(vda, 'driver')?.attrs).toEqual({ name: 'qemu', type: 'qcow2', discard: 'unmap' });
    expect(child(vda, 'source')?.attrs).toEqual({ file: `${DIR}/win-desk.qcow2` });
    expect(child(vda, 'backingStore')).toBeUndefined();
    const vdb = diskOf(root, 'vdb');
    expect(vdb.children.map((c) => c.name)).toEqual(['driver', 'source', 'target']);
    expect(child(vdb, 'driver')?.attrs).toEqual({ name: 'qemu', type: 'qcow2' });
    for (const dev of ['vdc', 'vdd', 'sda']) expect(shape(diskOf(root, dev))).toEqual(shape(diskOf(template, dev)));
  });

  it('moves the UEFI variable store into the clone dir, keeping its template', () => {
    expect(child(child(root, 'os'), 'nvram')).toMatchObject({ attrs: { template: '/usr/share/OVMF/OVMF_VARS_4M.fd' }, text: `${DIR}/win-desk-tpl_VARS.fd` });
  });

  it('leaves everything else as it was: inputs, controllers, video, the emulator, qemu:commandline (quotes and all)', () => {
    for (const name of ['input', 'controller', 'video', 'memballoon', 'emulator']) expect(byName(root, name).map(shape)).toEqual(byName(template, name).map(shape));
    for (const name of ['title', 'memory', 'vcpu', 'qemu:commandline']) expect(shape(child(root, name) ?? root)).toEqual(shape(child(template, name) ?? template));
    expect(root.attrs).toEqual(template.attrs);
    expect(child(child(root, 'qemu:commandline'), 'qemu:arg')).toBeDefined();
    expect(childrenNamed(child(root, 'qemu:commandline'), 'qemu:arg')[1]?.attrs.value).toBe("type=11,value=it's atp");
  });

  it('writes XML that reads back to the same tree', () => {
    expect(shape(parseXml(writeXml(template)))).toEqual(shape(template));
    expect(shape(parseXml(writeXml(root)))).toEqual(shape(root));
  });

  it('is the same for the same spec, and two clones share no host file', () => {
    expect(planClone(TEMPLATE, { name: 'desk-7', uuid: UUID, dir: DIR })).toEqual(plan);
    const other = planClone(TEMPLATE, { name: 'desk-9', dir: '/var/lib/atp/clones/desk-9' });
    const paths = (xml: string): string[] => [...xml.matchAll(/(?:path|file|socket)='([^']+)'/g)].map((m) => m[1] ?? '').filter((p) => p.startsWith('/var/lib/atp/'));
    expect(paths(plan.xml).filter((p) => paths(other.xml).includes(p))).toEqual([]);
    expect(paths(plan.xml).length).toBeGreaterThan(5);
  });
});

describe('planClone: what it refuses', () => {
  /** The template with `device` appended to <devices>. */
  const withDevice = (device: string): string => TEMPLATE.replace('</devices>', `  ${device}\n  </devices>`);
  const refusal = (xml: string, element: RegExp, reason: RegExp): void => {
    let thrown: unknown;
    try {
      planClone(xml, { name: 'desk-1', dir: '/clones/desk-1' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'ATP_LIBVIRT_CLONE', details: { template: 'win-desk-tpl', element: expect.stringMatching(element) } });
    expect((thrown as Error).message).toMatch(/^template 'win-desk-tpl': cannot clone /);
    expect((thrown as Error).message).toMatch(reason);
  };

  it('a writable block device, network disk, volume or LUN (shared by every clone)', () => {
    refusal(withDevice(`<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdx' bus='virtio'/></disk>`), /^<disk type='block' device='disk'> \(target vdx, source \/dev\/sdb\)$/, /writable block disk would be written by every clone/);
    refusal(withDevice(`<disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vdx'/></disk>`), /^<disk type='network' device='disk'> \(target vdx, source pool\/img\)$/, /writable network disk/);
    refusal(withDevice(`<disk type='volume' device='disk'><source pool='default' volume='v1'/><target dev='vdx'/></disk>`), /type='volume'.*source v1/, /writable volume disk/);
    refusal(withDevice(`<disk type='file' device='lun'><source file='/dev/sg0'/><target dev='sdx'/></disk>`), /device='lun'/, /writable file lun/);
    refusal(withDevice(`<disk type='file' device='disk'><target dev='vdx'/></disk>`), /target vdx/, /without a source file/);
    refusal(withDevice(`<disk type='file' device='disk'><source file='images/rel.qcow2'/><target dev='vdx'/></disk>`), /target vdx/, /not an absolute path/);
  });

  it('but not a readonly or shareable one', () => {
    const ok = withDevice(`<disk type='network' device='disk'><source protocol='nbd' name='x'/><target dev='vdx'/><readonly/></disk>`);
    expect(planClone(ok, { name: 'desk-1', dir: '/clones/desk-1' }).overlays).toHaveLength(2);
  });

  it('host devices, passed-through TPMs and host chardevs, fixed ports, pipes, vhost-user and unmanaged taps', () => {
    refusal(withDevice(`<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>`), /^<hostdev type='pci'>$/, /one VM only/);
    refusal(withDevice(`<tpm model='tpm-crb'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>`), /^<tpm>$/, /host TPM/);
    refusal(withDevice(`<serial type='tcp'><source mode='bind' host='0.0.0.0' service='4555'/><target port='2'/></serial>`), /^<serial type='tcp'>$/, /every clone would listen on tcp port 4555/);
    refusal(withDevice(`<channel type='pipe'><source path='/run/p'/><target type='virtio' name='x.pipe'/></channel>`), /^<channel type='pipe'> \(x\.pipe\)$/, /one host pipe/);
    refusal(withDevice(`<serial type='dev'><source path='/dev/ttyS0'/><target port='3'/></serial>`), /^<serial type='dev'>$/, /one host device/);
    refusal(withDevice(`<interface type='vhostuser'><source type='unix' path='/run/vhu.sock' mode='client'/><model type='virtio'/></interface>`), /^<interface type='vhostuser'>$/, /belongs to one VM/);
    refusal(withDevice(`<interface type='ethernet'><target dev='tap7' managed='no'/></interface>`), /^<interface type='ethernet'>$/, /unmanaged tap/);
  });

  it('a TCP chardev that connects, or binds port 0, is fine', () => {
    const ok = withDevice(`<serial type='tcp'><source mode='connect' host='10.0.0.1' service='4555'/><target port='2'/></serial>`);
    expect(() => planClone(ok, { name: 'desk-1', dir: '/clones/desk-1' })).not.toThrow();
  });

  it('a socket path that would not fit in a unix socket address', () => {
    let thrown: unknown;
    try {
      planClone(TEMPLATE, { name: 'desk-1', dir: `/clones/${'d'.repeat(100)}` });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'ATP_LIBVIRT_CLONE', details: { element: "<channel type='unix'> (org.atp.agent.0)" } });
    expect((thrown as Error).message).toMatch(/socket path \/clones\/d+\/agent\.sock is longer than 107 bytes/);
  });

  it('a bad spec (ATP_SCHEMA_INVALID naming the field) and XML that is not a domain (ATP_LIBVIRT_VIRSH)', () => {
    expect(() => planClone(TEMPLATE, { name: '', dir: '/c' })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: { field: 'name', value: '' } }));
    expect(() => planClone(TEMPLATE, { name: 'a/b', dir: '/c' })).toThrow(/clone spec name/);
    expect(() => planClone(TEMPLATE, { name: 'a', uuid: 'not-a-uuid', dir: '/c' })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: { field: 'uuid', value: 'not-a-uuid' } }));
    expect(() => planClone(TEMPLATE, { name: 'a', dir: 'relative/dir' })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: { field: 'dir', value: 'relative/dir' } }));
    expect(() => planClone('<network><name>n</name></network>', { name: 'a', dir: '/c' })).toThrow(expect.objectContaining({ code: 'ATP_LIBVIRT_VIRSH', message: expect.stringContaining('<network>') }));
    expect(() => planClone('<domain><name>x</name>', { name: 'a', dir: '/c' })).toThrow(expect.objectContaining({ code: 'ATP_LIBVIRT_VIRSH' }));
  });
});
