/**
 * `atp-host keyboard send --vm NAME[@HOST] KEY...` (each KEY a key or combo:
 * `a`, `enter`, `ctrl+alt+f2`, pressed and released in order) and
 * `atp-host keyboard text --vm … STRING [--layout us] [--rate 30]`: input
 * through libvirt's qemu-monitor-command (QMP input-send-event), the same
 * injector `verify` uses. A paused domain is continued first (QEMU drops
 * input while paused). `--vms GLOB[@HOST]` instead of `--vm` types into
 * every matching running domain, one after the other. `--injector spice|vnc`
 * types as a thin client instead, through the domain's SPICE or VNC server
 * (its <graphics>, or `--display URL`; injector-flags.ts).
 */
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import type { ConfigLocation } from '../config/paths.js';
import { comboToKeystroke, QmpInjector, textToKeystrokes, type Injector, type Keystroke, type ScreenSize } from '../inject/index.js';
import { ensureGuestRunning } from '../scenario/index.js';
import { locationOf, withConfigDir } from './config.js';
import type { CliIo } from './program.js';
import { forEachVm, withDomain } from '../targets/domains.js';
import { openInjector, type InjectorChoice } from '../targets/injectors.js';
import { libvirtDisplay } from '../targets/libvirt-display.js';
import { addInjectorOptions, parseInjectorFlags, type InjectorFlags } from './injector-flags.js';

export const DEFAULT_SCREEN: ScreenSize = { width: 1024, height: 768 };

/** --config-dir and the injector flags. */
export const withInjectorOptions = (command: Command): Command => addInjectorOptions(withConfigDir(command));

/** Opens the domain, makes sure it runs, and hands `fn` the chosen injector on it (default QMP); closes everything. */
export function withInjector<T>(vm: string, location: ConfigLocation, screen: ScreenSize, choice: Partial<InjectorChoice>, fn: (injector: Injector, label: string) => Promise<T>): Promise<T> {
  return withDomain(vm, location, async (d) => {
    const qmp = d.client.qmpExecutor(d.domain);
    await ensureGuestRunning(qmp);
    const source = { label: d.label, injector: (s: ScreenSize) => new QmpInjector({ executor: qmp, screen: s }), display: libvirtDisplay(d) };
    const injector = await openInjector(source, screen, { ...choice, kind: choice.kind ?? 'qmp' });
    try {
      return await fn(injector, d.label);
    } finally {
      await injector.close();
    }
  });
}

/** Sends keystrokes one at a time, `rate` per second. */
async function sendPaced(injector: Injector, strokes: readonly Keystroke[], rate: number): Promise<number> {
  let actions = 0;
  for (const [i, s] of strokes.entries()) {
    if (i > 0) await sleep(1000 / rate);
    actions += (await injector.send(s.actions)).length;
  }
  return actions;
}

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
