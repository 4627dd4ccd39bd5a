/**
 * `atp-host mouse move --vm NAME[@HOST] X Y [--screen WxH]` (absolute, in
 * pixels of a screen of that size, through the domain's tablet) and
 * `atp-host mouse click --vm … [BUTTON]` (left, right, middle, side, extra).
 * `--vms GLOB[@HOST]` acts on every matching running domain in turn;
 * `--injector spice|vnc` acts as a thin client (keyboard.ts).
 */
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import type { Injector, PointerButton, ScreenSize } from '../inject/index.js';
import { parseInjectorFlags, type InjectorFlags } from './injector-flags.js';
import { locationOf } from './config.js';
import { withInjectorOptions } from './keyboard.js';
import type { CliIo } from './program.js';
import { forEachVm } from '../targets/domains.js';
import { DEFAULT_SCREEN, withInjector } from '../targets/input.js';

const BUTTONS: readonly PointerButton[] = ['left', 'right', 'middle', 'side', 'extra'];

interface Flags extends InjectorFlags {
  vm?: string;
  vms?: string;
  configDir?: string;
  screen?: string;
  json?: boolean;
}

const usage = (field: string, value: string, why: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `${field} ${JSON.stringify(value)}: ${why}`, { details: { field, value } });

/** "1920x1080" → a screen size. */
export function parseScreen(text: string | undefined): ScreenSize {
  if (text === undefined) return DEFAULT_SCREEN;
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw usage('--screen', text, 'expected WIDTHxHEIGHT, e.g. 1024x768');
  return { width: Number(m[1]), height: Number(m[2]) };
}

function coordinate(text: string, max: number, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n >= max) throw usage(name, text, `expected an integer pixel in 0..${max - 1}`);
  return n;
}

export function registerMouseCommands(program: Command, io: CliIo): void {
  const mouse = program.command('mouse').description('move and click in a libvirt domain');
  /** Runs `act` on each target VM; prints { vm, ...result } for one --vm, [{ vm, result }] for --vms. */
  const each = async (flags: Flags, screen: ScreenSize, act: (inj: Injector) => Promise<unknown>, result: object, line: (vm: string) => string): Promise<void> => {
    const location = locationOf(flags);
    const choice = await parseInjectorFlags(flags);
    const { many, results } = await forEachVm(flags, location, (l) => io.err(`mouse: ${l}\n`), (spec) =>
      withInjector(spec, location, screen, choice, async (inj, label) => {
        await act(inj);
        return label;
      }),
    );
    const rows = results.map((r) => ({ vm: r.result, result }));
    if (flags.json === true) io.out(`${JSON.stringify(many ? rows : { vm: rows[0]?.vm, ...result })}\n`);
    else for (const r of rows) io.out(`${line(r.vm)}\n`);
  };

  withInjectorOptions(mouse.command('move').description('move the pointer to pixel X, Y (absolute, through the tablet)'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--screen <WxH>', "the guest's screen size (default 1024x768)")
    .option('--json', 'print the result as JSON')
    .argument('<x>')
    .argument('<y>')
    .action(async (xs: string, ys: string, flags: Flags) => {
      const screen = parseScreen(flags.screen);
      const x = coordinate(xs, screen.width, 'x');
      const y = coordinate(ys, screen.height, 'y');
      await each(flags, screen, (inj) => inj.send([{ kind: 'move', x, y }]), { x, y, screen }, (vm) => `${vm}: pointer at ${x},${y} of ${screen.width}x${screen.height}`);
    });

  withInjectorOptions(mouse.command('click').description('press and release a button'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--json', 'print the result as JSON')
    .argument('[button]', BUTTONS.join(', '), 'left')
    .action(async (text: string, flags: Flags) => {
      const button = BUTTONS.find((b) => b === text);
      if (button === undefined) throw usage('button', text, `expected one of ${BUTTONS.join(', ')}`);
      const actions = [
        { kind: 'button', button, down: true },
        { kind: 'button', button, down: false },
      ] as const;
      await each(flags, DEFAULT_SCREEN, (inj) => inj.send(actions), { button }, (vm) => `${vm}: clicked ${button}`);
    });
}
