/** The lab's pure parts: newc cpio, ldd output, module order, evdev records, /proc/bus/input/devices, QEMU args, /init. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInputEvents, formatInputEvent, isAtpError, parseProcInputDevices } from '@atp/protocol';
import { decodeCpio, encodeCpio, type CpioEntry } from '../src/lab/image/cpio-codec.js';
import { initScript } from '../src/lab/image/init-script.js';
import { parseLddOutput } from '../src/lab/image/ldd-codec.js';
import { LAB_MODULES, resolveModulePaths } from '../src/lab/image/modules.js';
import { aptError } from '../src/lab/image/debs.js';
import { findLabInputDevices } from '../src/lab/evdev-codec.js';
import { statePaths } from '../src/lab/paths.js';
import { installCommand, prerequisiteError } from '../src/lab/prereqs.js';
import { buildQemuArgs } from '../src/lab/vm-args.js';
import { boundToHead, FIRST_FREE_HEAD, keyboardRoute, LAB_INPUT_DISPLAY } from '../src/lab/input-devices.js';

const concat = (chunks: Iterable<Uint8Array>): Uint8Array => Buffer.concat([...chunks]);

describe('newc cpio', () => {
  it('round-trips files, dirs, symlinks and device nodes with their modes', () => {
    const entries: CpioEntry[] = [
      { kind: 'dir', path: 'bin' },
      { kind: 'file', path: '/bin/busybox', data: Buffer.from('\x7fELF'), mode: 0o755 },
      { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    ];
    const decoded = decodeCpio(concat(encodeCpio(entries)));
    expect(decoded.map((e) => [e.name, e.mode.toString(8)])).toEqual([
      ['bin', '40755'],
      ['bin/busybox', '100755'],
      ['bin/sh', '120777'],
      ['dev/console', '20600'],
    ]);
    expect(Buffer.from(decoded[1]?.data ?? []).toString('latin1')).toBe('\x7fELF');
    expect(Buffer.from(decoded[2]?.data ?? []).toString()).toBe('busybox');
    expect([decoded[3]?.rdevMajor, decoded[3]?.rdevMinor]).toEqual([5, 1]);
  });

  it('keeps every header and data block 4-byte aligned and round-trips any file set (property)', () => {
    const name = fc.stringMatching(/^[a-z0-9_.-]{1,20}$/).filter((n) => n !== '.' && n !== '..');
    fc.assert(
      fc.property(fc.uniqueArray(fc.record({ name, data: fc.uint8Array({ maxLength: 64 }) }), { selector: (f) => f.name, maxLength: 8 }), (files) => {
        const chunks = [...encodeCpio(files.map((f): CpioEntry => ({ kind: 'file', path: `d/${f.name}`, data: f.data })))];
        const bytes = concat(chunks);
        expect(bytes.length % 4).toBe(0);
        const back = decodeCpio(bytes);
        expect(back.map((e) => e.name)).toEqual(files.map((f) => `d/${f.name}`));
        back.forEach((e, i) => expect(Buffer.from(e.data).equals(Buffer.from(files[i]?.data ?? []))).toBe(true));
      }),
    );
  });

  it('refuses paths that escape the archive', () => {
    expect(() => [...encodeCpio([{ kind: 'dir', path: '../etc' }])]).toThrow(/invalid path/);
    expect(() => [...encodeCpio([{ kind: 'dir', path: '/' }])]).toThrow(/invalid path/);
  });
});

describe('ldd output', () => {
  const real = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f52860c4000)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5285b3e000)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f52860dd000)',
  ].join('\n');

  it('lists the libraries and the loader, without the vDSO', () => {
    expect(parseLddOutput(real, 'node')).toEqual(['/lib/x86_64-linux-gnu/libdl.so.2', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  });

  it('fails on a missing library, naming it', () => {
    const error = (() => {
      try {
        parseLddOutput('\tlibfoo.so.1 => not found', 'qemu-ga');
      } catch (e) {
        return e;
      }
    })();
    expect(isAtpError(error, 'ATP_LAB_IMAGE')).toBe(true);
    expect(String(error)).toContain('libfoo.so.1');
  });
});

describe('kernel modules', () => {
  const order = LAB_MODULES.map((m) => `kernel/drivers/x/${m}.ko`).join('\n').replace('usb-common', 'usb_common');

  it('resolves every lab module in insmod order, matching - and _ alike', () => {
    const paths = resolveModulePaths(`kernel/fs/ext4/ext4.ko\n${order}\n`);
    expect(paths.map((p) => p.name)).toEqual([...LAB_MODULES]);
    expect(paths.find((p) => p.name === 'usb-common')?.path).toBe('kernel/drivers/x/usb_common.ko');
  });

  it('names the missing modules and refuses compressed ones', () => {
    expect(() => resolveModulePaths('kernel/drivers/input/evdev.ko\n')).toThrow(/lacks modules: virtio_ring/);
    expect(() => resolveModulePaths('kernel/drivers/input/evdev.ko.xz\n')).toThrow(/compressed/);
  });
});

describe('evdev records and the device list', () => {
  it('decodes x86-64 struct input_event records', () => {
    const b = Buffer.alloc(48);
    b.writeBigInt64LE(1795813895n, 0);
    b.writeBigInt64LE(849492n, 8);
    b.writeUInt16LE(1, 16);
    b.writeUInt16LE(30, 18);
    b.writeInt32LE(1, 20);
    b.writeBigInt64LE(1795813895n, 24);
    b.writeUInt16LE(2, 40);
    b.writeUInt16LE(8, 42);
    b.writeInt32LE(-1, 44);
    const events = decodeInputEvents(b);
    expect(events.map(formatInputEvent)).toEqual(['1795813895.849492 EV_KEY KEY_A 1', '1795813895.000000 EV_REL REL_WHEEL -1']);
    expect(() => decodeInputEvents(b.subarray(0, 30))).toThrow(/multiple of 24/);
  });

  it('finds the PS/2 keyboard, PS/2 mouse and USB tablet in a real /proc/bus/input/devices', () => {
    const text = [
      'I: Bus=0011 Vendor=0001 Product=0001 Version=ab41\nN: Name="AT Translated Set 2 keyboard"\nP: Phys=isa0060/serio0/input0\nH: Handlers=sysrq kbd leds event0 \n',
      'I: Bus=0011 Vendor=0002 Product=0006 Version=0000\nN: Name="ImExPS/2 Generic Explorer Mouse"\nP: Phys=isa0060/serio1/input0\nH: Handlers=mouse0 event1 \n',
      'I: Bus=0003 Vendor=0627 Product=0001 Version=0001\nN: Name="QEMU QEMU USB Tablet"\nP: Phys=usb-0000:00:03.0-1/input0\nH: Handlers=mouse1 event2 \n',
    ].join('\n');
    const found = findLabInputDevices(parseProcInputDevices(text));
    expect([found?.keyboard.eventNode, found?.mouse.eventNode, found?.tablet.eventNode]).toEqual(['event0', 'event1', 'event2']);
    expect(findLabInputDevices(parseProcInputDevices(text.split('\n\n')[0] ?? ''))).toBeUndefined();
  });
});

describe('QEMU command line and /init', () => {
  it('wires both virtio-serial ports, QMP, the console and the token', () => {
    const paths = statePaths('/run/x');
    const args = buildQemuArgs({ kernel: 'k', initrd: 'i', paths, tokenFile: paths.token, agentId: 'lab', uuid: '00000000-0000-4000-8000-000000000001', accel: 'tcg', memoryMb: 384 });
    const joined = args.join(' ');
    expect(joined).toContain('-accel tcg');
    expect(joined).toContain('-nic none');
    expect(joined).toContain('-no-reboot');
    expect(joined).toContain(`socket,id=agent0,path=${paths.agent},server=on,wait=off`);
    expect(joined).toContain('name=org.atp.agent.0');
    expect(joined).toContain('name=org.qemu.guest_agent.0');
    expect(joined).toContain(`-qmp unix:${paths.qmp},server=on,wait=off`);
    // The token travels as a fw_cfg file: never on QEMU's command line (host ps) or the kernel's (guest /proc/cmdline).
    expect(args[args.indexOf('-fw_cfg') + 1]).toBe(`name=opt/org.atp/token,file=${paths.token}`);
    expect(args[args.indexOf('-append') + 1]).not.toContain('token');
    expect(joined).not.toContain('virtio-gpu');
  });

  it('caps the TCG translation cache at 64 MiB unless told otherwise; kvm gets no tb-size', () => {
    const paths = statePaths('/run/x');
    const base = { kernel: 'k', initrd: 'i', paths, tokenFile: paths.token, agentId: 'lab', uuid: '00000000-0000-4000-8000-000000000001', memoryMb: 384 };
    const accelOf = (args: string[]): string | undefined => args[args.indexOf('-accel') + 1];
    expect(accelOf(buildQemuArgs({ ...base, accel: 'tcg' }))).toBe('tcg,tb-size=64');
    expect(accelOf(buildQemuArgs({ ...base, accel: 'tcg', tbSizeMb: 128 }))).toBe('tcg,tb-size=128');
    expect(accelOf(buildQemuArgs({ ...base, accel: 'kvm', tbSizeMb: 128 }))).toBe('kvm');
  });

  it('adds the desktop input devices, each bound to its own head, and routes each keyboard to exactly its head', () => {
    const paths = statePaths('/run/x');
    const args = buildQemuArgs({ kernel: 'k', initrd: 'i', paths, tokenFile: paths.token, agentId: 'lab', uuid: '00000000-0000-4000-8000-000000000001', accel: 'tcg', memoryMb: 384, inputProfile: 'desktop', extraDevices: [boundToHead('virtio-keyboard-pci,id=x', FIRST_FREE_HEAD)] });
    const devices = args.filter((_, i) => args[i - 1] === '-device');
    expect(devices).toContain(`virtio-gpu-pci,id=${LAB_INPUT_DISPLAY},max_outputs=16`);
    expect(devices.filter((d) => d.includes(`display=${LAB_INPUT_DISPLAY}`))).toEqual([
      `usb-kbd,id=atp-usb-kbd,bus=xhci0.0,display=${LAB_INPUT_DISPLAY}`,
      `virtio-keyboard-pci,id=atp-virtio-kbd,display=${LAB_INPUT_DISPLAY},head=1`,
      `virtio-mouse-pci,id=atp-virtio-mouse,display=${LAB_INPUT_DISPLAY},head=2`,
      `virtio-tablet-pci,id=atp-virtio-tablet,display=${LAB_INPUT_DISPLAY},head=3`,
      `virtio-keyboard-pci,id=x,display=${LAB_INPUT_DISPLAY},head=4`,
    ]);
    expect(keyboardRoute('ps2')).toEqual({});
    expect(keyboardRoute('usb')).toEqual({ device: LAB_INPUT_DISPLAY, head: 0 });
    expect(keyboardRoute('virtio')).toEqual({ device: LAB_INPUT_DISPLAY, head: 1 });
  });

  it('generates an /init that disables ctrl-alt-del, loads modules in order and starts the agent only when present', () => {
    const withAgent = initScript({ modules: ['evdev.ko', 'virtio.ko'], agent: true, agentArgs: ['run', '--link', 'virtio'] });
    expect(withAgent).toContain('echo 0 > /proc/sys/kernel/ctrl-alt-del');
    expect(withAgent.indexOf("'evdev.ko' 'virtio.ko'")).toBeGreaterThan(0);
    expect(withAgent).toContain("/opt/atp/agent.mjs 'run' '--link' 'virtio' --token-file /run/atp/token");
    expect(withAgent).toContain('/sys/firmware/qemu_fw_cfg/by_name/opt/org.atp/token/raw');
    expect(withAgent).toContain('(umask 077; echo "$token" > /run/atp/token)');
    expect(withAgent).not.toMatch(/--token "/);
    expect(initScript({ modules: [], agent: false, agentArgs: [] })).not.toContain('agent.mjs');
  });
});

describe('prerequisites message', () => {
  it('lists everything missing and one apt-get line', () => {
    const missing = [{ what: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' }, { what: 'qemu-ga', debianPackage: 'qemu-guest-agent' }, { what: 'lists', hint: 'run apt-get update' }];
    expect(installCommand(missing)).toEqual(['apt-get', 'install', '-y', 'qemu-system-x86', 'qemu-guest-agent']);
    const error = prerequisiteError(missing);
    expect(error.code).toBe('ATP_LAB_PREREQ');
    expect(error.message).toContain('apt-get install -y qemu-system-x86 qemu-guest-agent');
    expect(error.message).toContain('run apt-get update');
  });
});

describe('apt failures', () => {
  it('tells to run apt-get update when the lists are missing or stale (a dropped version answers 404), and keeps other failures as they are', () => {
    const stale = aptError('linux-image-6.1.0-57-amd64', new Error('E: Failed to fetch http://deb.debian.org/debian/pool/main/l/linux-signed-amd64/linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb  404  Not Found [IP: 1.2.3.4 80]'));
    expect(stale).toMatchObject({ code: 'ATP_LAB_PREREQ', details: { package: 'linux-image-6.1.0-57-amd64' } });
    expect(stale.message).toMatch(/Run `apt-get update` once/);
    expect(aptError('busybox-static', new Error('E: Unable to locate package busybox-static')).code).toBe('ATP_LAB_PREREQ');
    expect(aptError('busybox-static', new Error('dpkg-deb: error: archive is corrupt')).code).toBe('ATP_LAB_IMAGE');
  });
});
