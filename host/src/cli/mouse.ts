/**
 * `atp-host mouse move --vm NAME[@HOST] X Y [--screen WxH]` (absolute, in
 * pixels of a screen of that size, through the domain's tablet) and
 * `atp-host mouse click --vm … [BUTTON]` (left, right, middle, side, extra).
 * `--vms GLOB[@HOST]` acts on every matching running domain in turn;
 * `--injector spice|vnc` acts as a thin client (keyboard.ts). The actions are
 * in mouse-actions.ts.
 */
import type { Command } from 'commander';
import { MOUSE_BUTTONS } from './defaults.js';
import { withInjectorOptions } from './keyboard.js';
import type { MouseFlags } from './mouse-actions.js';
import type { CliIo } from './program.js';

export function registerMouseCommands(program: Command, io: CliIo): void {
  const mouse = program.command('mouse').description('move and click in a libvirt domain');

  withInjectorOptions(mouse.command('move').description('move the pointer to pixel X, Y (absolute, through the tablet)'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--screen <WxH>', "the guest's screen size (default 1024x768)")
    .option('--json', 'print the result as JSON')
    .argument('<x>')
    .argument('<y>')
    .action(async (xs: string, ys: string, flags: MouseFlags) => (await import('./mouse-actions.js')).moveMouse(xs, ys, flags, io));

  withInjectorOptions(mouse.command('click').description('press and release a button'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--json', 'print the result as JSON')
    .argument('[button]', MOUSE_BUTTONS.join(', '), 'left')
    .action(async (text: string, flags: MouseFlags) => (await import('./mouse-actions.js')).clickMouse(text, flags, io));
}
