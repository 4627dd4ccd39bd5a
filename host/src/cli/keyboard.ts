/**
 * `atp-host keyboard send --vm NAME[@HOST] KEY...` (each KEY a key or combo:
 * `a`, `enter`, `ctrl+alt+f2`, pressed and released in order) and
 * `atp-host keyboard text --vm … STRING [--layout us] [--rate 30]`: input
 * through libvirt's qemu-monitor-command (QMP input-send-event), the same
 * injector `verify` uses. A paused domain is continued first (QEMU drops
 * input while paused). `--vms GLOB[@HOST]` instead of `--vm` types into
 * every matching running domain, one after the other. `--injector spice|vnc`
 * types as a thin client instead, through the domain's SPICE or VNC server
 * (its <graphics>, or `--display URL`; injector-flags.ts). Opening the
 * injector and pacing the keystrokes live in targets/input.ts, which the
 * HTTP API's keyboard routes use too.
 * The actions are in keyboard-actions.ts.
 */
import type { Command } from 'commander';
import { withConfigDir } from './config-flag.js';
import { addInjectorOptions } from './injector-flags.js';
import type { KeyboardFlags } from './keyboard-actions.js';
import type { CliIo } from './program.js';

/** --config-dir and the injector flags. */
export const withInjectorOptions = (command: Command): Command => addInjectorOptions(withConfigDir(command));

export function registerKeyboardCommands(program: Command, io: CliIo): void {
  const keyboard = program.command('keyboard').description('type into a libvirt domain');

  withInjectorOptions(keyboard.command('send').description('press and release keys or combos in order (a, enter, ctrl+alt+f2)'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--rate <keys/s>', 'keystrokes per second (default 30)')
    .option('--json', 'print the result as JSON')
    .argument('<keys...>', 'keys or combos')
    .action(async (keys: string[], flags: KeyboardFlags) => (await import('./keyboard-actions.js')).sendKeys(keys, flags, io));

  withInjectorOptions(keyboard.command('text').description('type a string through a keyboard layout'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--layout <name>', "the guest's keyboard layout (default us)")
    .option('--rate <keys/s>', 'characters per second (default 30)')
    .option('--json', 'print the result as JSON')
    .argument('<text>', 'the text to type')
    .action(async (text: string, flags: KeyboardFlags) => (await import('./keyboard-actions.js')).typeText(text, flags, io));
}
