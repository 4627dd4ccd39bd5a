/**
 * `atp-host lab up|down|status|console|record-fixtures`: the local lab VM
 * (a Debian kernel + busybox guest under QEMU, see host/src/lab/). With
 * `--count N`, `lab up` boots a fleet into <state-dir>/vm-01 … vm-NN
 * (lab/fleet.ts); `lab status` lists the fleet beside the single VM and
 * `lab down` stops both.
 */
import type { Command } from 'commander';
import type { CommonFlags, UpFlags } from './lab-actions.js';
import type { CliIo } from './program.js';

const dirs = (cmd: Command): Command => cmd.option('--state-dir <dir>', 'state of the running VM (env ATP_LAB_STATE)').option('--cache-dir <dir>', 'downloads and built images (env ATP_LAB_CACHE)');

export function registerLabCommands(program: Command, io: CliIo): void {
  const lab = program.command('lab').description('a local Debian guest under QEMU for end-to-end tests');

  dirs(lab.command('up').description('build the guest image (cached) and boot it; returns once the guest is ready'))
    .option('--agent <path>', 'guest agent to bundle: its entry .js/.ts file or a directory with main.js (e.g. guest-agent/dist)')
    .option('--accel <tcg|kvm>', 'accelerator (env ATP_LAB_ACCEL; default tcg)')
    .option('--memory <MiB>', 'guest RAM (default 384; 320 with --count)')
    .option('--compression <gzip|none>', 'initramfs compression (default gzip)')
    .option('--timeout <seconds>', 'how long to wait for the guest (default 240)')
    .option('--install', 'apt-get install missing prerequisites first (root on Debian)')
    .option('--input <profile>', 'input devices: minimal (PS/2 keyboard and mouse, USB tablet; default) or desktop (also USB keyboard, virtio keyboard, mouse and tablet)')
    .option('--keyboard <kbd>', 'the keyboard QMP input is routed to: ps2 (default), virtio or usb (desktop only)')
    .option('--count <N>', 'boot a fleet of N VMs into <state-dir>/vm-01 … vm-NN (agent ids lab-01 …, default guest RAM 320 MiB)')
    .option('--boot-concurrency <K>', 'with --count: how many VMs boot at once (default 2)')
    .option('--json', 'print the state as JSON (with --count: an array, one entry per VM)')
    .action(async (flags: UpFlags) => (await import('./lab-actions.js')).runLabUp(flags, io));

  dirs(lab.command('down').description('stop the lab VM and the fleet VMs under the state dir (QMP quit, then SIGTERM, then SIGKILL) and remove their state')).action(async (flags: CommonFlags) => (await import('./lab-actions.js')).runLabDown(flags, io));

  dirs(lab.command('status').description('is the lab VM running?'))
    .option('--json', 'print the status as JSON')
    .action(async (flags: CommonFlags & { json?: boolean }) => (await import('./lab-actions.js')).runLabStatus(flags, io));

  dirs(lab.command('console').description('print the serial console log'))
    .option('-f, --follow', 'keep printing new output while the VM runs')
    .action(async (flags: CommonFlags & { follow?: boolean }) => (await import('./lab-actions.js')).runLabConsole(flags, io));

  dirs(lab.command('record-fixtures').description('record raw evdev streams from the guest kernel while injecting over QMP'))
    .requiredOption('--out <dir>', 'where to write the fixtures')
    .option('--virtio-keyboard', 'also boot with -device virtio-keyboard-pci and record the keyboard phase on it')
    .action(async (flags: CommonFlags & { out: string; virtioKeyboard?: boolean }) => (await import('./lab-actions.js')).runLabRecordFixtures(flags, io));
}
