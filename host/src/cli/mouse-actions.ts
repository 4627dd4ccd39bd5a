/** What `atp-host mouse move|click` do (mouse.ts defines them and loads this file when one runs). */
import { AtpError } from '@atp/protocol';
import type { Injector, ScreenSize } from '../inject/index.js';
import { forEachVm } from '../targets/domains.js';
import { DEFAULT_SCREEN, withInjector } from '../targets/input.js';
import { locationOf } from './config-flag.js';
import { MOUSE_BUTTONS } from './defaults.js';
import { parseInjectorFlags, type InjectorFlags } from './injector-flags.js';
import type { CliIo } from './program.js';

export interface MouseFlags extends InjectorFlags {
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

/** Runs `act` on each target VM; prints { vm, ...result } for one --vm, [{ vm, result }] for --vms. */
async function each(flags: MouseFlags, screen: ScreenSize, act: (inj: Injector) => Promise<unknown>, result: object, line: (vm: string) => string, io: CliIo): Promise<void> {
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
}

export async function moveMouse(xs: string, ys: string, flags: MouseFlags, io: CliIo): Promise<void> {
  const screen = parseScreen(flags.screen);
  const x = coordinate(xs, screen.width, 'x');
  const y = coordinate(ys, screen.height, 'y');
  await each(flags, screen, (inj) => inj.send([{ kind: 'move', x, y }]), { x, y, screen }, (vm) => `${vm}: pointer at ${x},${y} of ${screen.width}x${screen.height}`, io);
}

export async function clickMouse(text: string, flags: MouseFlags, io: CliIo): Promise<void> {
  const button = MOUSE_BUTTONS.find((b) => b === text);
  if (button === undefined) throw usage('button', text, `expected one of ${MOUSE_BUTTONS.join(', ')}`);
  const actions = [
    { kind: 'button', button, down: true },
    { kind: 'button', button, down: false },
  ] as const;
  await each(flags, DEFAULT_SCREEN, (inj) => inj.send(actions), { button }, (vm) => `${vm}: clicked ${button}`, io);
}
