/** What `atp-host keyboard send|text` do (keyboard.ts defines them and loads this file when one runs). */
import { AtpError } from '@atp/protocol';
import { comboToKeystroke, textToKeystrokes, type Keystroke } from '../inject/index.js';
import { forEachVm } from '../targets/domains.js';
import { DEFAULT_SCREEN, sendPaced, withInjector } from '../targets/input.js';
import { locationOf } from './config-flag.js';
import { parseInjectorFlags, type InjectorFlags } from './injector-flags.js';
import type { CliIo } from './program.js';

export interface KeyboardFlags extends InjectorFlags {
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

async function type(flags: KeyboardFlags, strokes: readonly Keystroke[], io: CliIo): Promise<void> {
  const rate = rateOf(flags.rate);
  const choice = await parseInjectorFlags(flags);
  const location = locationOf(flags);
  const { many, results } = await forEachVm(flags, location, (line) => io.err(`keyboard: ${line}\n`), (spec) =>
    withInjector(spec, location, DEFAULT_SCREEN, choice, async (inj, label) => ({ label, actions: await sendPaced(inj, strokes, rate) })),
  );
  const rows = results.map((r) => ({ vm: r.result.label, result: { keystrokes: strokes.length, actions: r.result.actions } }));
  if (flags.json === true) io.out(`${JSON.stringify(many ? rows : { vm: rows[0]?.vm, ...rows[0]?.result })}\n`);
  else for (const r of rows) io.out(`${r.vm}: sent ${r.result.keystrokes} keystroke(s), ${r.result.actions} key event(s)\n`);
}

export async function sendKeys(keys: string[], flags: KeyboardFlags, io: CliIo): Promise<void> {
  await type(flags, keys.map(comboToKeystroke), io);
}

export async function typeText(text: string, flags: KeyboardFlags, io: CliIo): Promise<void> {
  await type(flags, textToKeystrokes(text, flags.layout ?? 'us'), io);
}
