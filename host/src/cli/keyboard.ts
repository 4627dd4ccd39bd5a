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
 */
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import { comboToKeystroke, textToKeystrokes, type Keystroke } from '../inject/index.js';
import { locationOf, withConfigDir } from './config.js';
import type { CliIo } from './program.js';
import { forEachVm } from '../targets/domains.js';
import { DEFAULT_SCREEN, sendPaced, withInjector } from '../targets/input.js';
import { addInjectorOptions, parseInjectorFlags, type InjectorFlags } from './injector-flags.js';

/** --config-dir and the injector flags. */
export const withInjectorOptions = (command: Command): Command => addInjectorOptions(withConfigDir(command));

interface Flags extends InjectorFlags {
  vm?: string;
  vms?: string;
  configDir?: string;
  layout?: string;
  rate?: string;
  json?: boolean;
}

function rateOf(text: string | undefined): number {
  const rate = Number(text ?? '30');
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1000) throw new AtpError('ATP_SCHEMA_INVALID', `--rate ${JSON.stringify(text)}: expected keystrokes per second in (0, 1000]`, { details: { field: 'rate', value: text } });
  return rate;
}

export function registerKeyboardCommands(program: Command, io: CliIo): void {
  const keyboard = program.command('keyboard').description('type into a libvirt domain');
  const type = async (flags: Flags, strokes: readonly Keystroke[]): Promise<void> => {
    const rate = rateOf(flags.rate);
    const choice = await parseInjectorFlags(flags);
    const location = locationOf(flags);
    const { many, results } = await forEachVm(flags, location, (line) => io.err(`keyboard: ${line}\n`), (spec) =>
      withInjector(spec, location, DEFAULT_SCREEN, choice, async (inj, label) => ({ label, actions: await sendPaced(inj, strokes, rate) })),
    );
    const rows = results.map((r) => ({ vm: r.result.label, result: { keystrokes: strokes.length, actions: r.result.actions } }));
    if (flags.json === true) io.out(`${JSON.stringify(many ? rows : { vm: rows[0]?.vm, ...rows[0]?.result })}\n`);
    else for (const r of rows) io.out(`${r.vm}: sent ${r.result.keystrokes} keystroke(s), ${r.result.actions} key event(s)\n`);
  };

  withInjectorOptions(keyboard.command('send').description('press and release keys or combos in order (a, enter, ctrl+alt+f2)'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--rate <keys/s>', 'keystrokes per second (default 30)')
    .option('--json', 'print the result as JSON')
    .argument('<keys...>', 'keys or combos')
    .action(async (keys: string[], flags: Flags) => {
      await type(flags, keys.map(comboToKeystroke));
    });

  withInjectorOptions(keyboard.command('text').description('type a string through a keyboard layout'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--layout <name>', "the guest's keyboard layout (default us)")
    .option('--rate <keys/s>', 'characters per second (default 30)')
    .option('--json', 'print the result as JSON')
    .argument('<text>', 'the text to type')
    .action(async (text: string, flags: Flags) => {
      await type(flags, textToKeystrokes(text, flags.layout ?? 'us'));
    });
}
