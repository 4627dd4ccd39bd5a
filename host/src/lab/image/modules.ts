/**
 * The kernel modules the lab guest loads, in insmod order (ARCHITECTURE.md:
 * Debian 6.1 builds evdev core, i8042, atkbd, 8250 and devtmpfs in; these are
 * modules). Each entry depends only on entries before it, so plain busybox
 * `insmod` works without modules.dep: no depmod (and no kmod package) needed.
 * Paths come from the package's own modules.order. Pure.
 * `button` (ACPI power button) and `pcspkr` (PC speaker) add the input devices
 * every desktop guest has, so even the minimal lab has five (a fifth device is
 * what once starved the agent); `qemu_fw_cfg` lets /init read the agent token
 * from a fw_cfg file instead of the kernel command line.
 */
import { AtpError } from '@atp/protocol';

export const LAB_MODULES = [
  'evdev',
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'virtio_console',
  'virtio_input',
  'psmouse',
  'usb-common',
  'usbcore',
  'ehci-hcd',
  'uhci-hcd',
  'ehci-pci',
  'xhci-hcd',
  'xhci-pci',
  'hid',
  'usbhid',
  'hid-generic',
  'button',
  'pcspkr',
  'qemu_fw_cfg',
] as const;

const canonical = (name: string): string => name.replace(/-/g, '_');

/**
 * Maps module names to their path relative to /lib/modules/<version>, using
 * the text of modules.order ("kernel/drivers/input/evdev.ko" per line).
 * Compressed modules (.ko.xz/.ko.zst) are refused: Debian 6.1 ships plain .ko.
 */
export function resolveModulePaths(modulesOrder: string, names: readonly string[] = LAB_MODULES): { name: string; path: string }[] {
  const byName = new Map<string, string>();
  for (const line of modulesOrder.split('\n')) {
    const rel = line.trim();
    const m = /(?:^|\/)([^/]+)\.ko(\.[a-z]+)?$/.exec(rel);
    if (!m?.[1]) continue;
    if (m[2] !== undefined) throw new AtpError('ATP_LAB_IMAGE', `compressed kernel module ${rel} is not supported (expected plain .ko)`, { details: { module: rel } });
    byName.set(canonical(m[1]), rel);
  }
  const missing = names.filter((n) => !byName.has(canonical(n)));
  if (missing.length > 0) {
    throw new AtpError('ATP_LAB_IMAGE', `kernel package lacks modules: ${missing.join(', ')}`, { details: { missing } });
  }
  return names.map((name) => ({ name, path: byName.get(canonical(name)) ?? '' }));
}
