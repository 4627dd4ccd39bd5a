/**
 * The line language of `atp-host interactive`, parsed into what to do. Pure.
 *
 *   any text            typed into the guest as text (through the layout)
 *   ::text              types ":text" (a line that must start with a colon)
 *   :press COMBO...     keys or combos, as a suite's `press` takes them (ctrl+c, alt+f4 enter)
 *   :click [BUTTON] [X,Y]  left (default), right or middle; at X,Y pixels, else where the pointer is
 *   :move X,Y           absolute pointer position in pixels
 *   :wheel DY [DX]      wheel notches (positive DY scrolls down)
 *   :wait MS            a pause, observing
 *   :help, :quit (:q)
 *   (an empty line)     nothing
 *
 * A text, press, click, move or wheel line becomes one scenario step (a plain
 * object the suite loader validates); a mistake is an AtpError naming the
 * command: ATP_SCHEMA_INVALID for the syntax, ATP_KEY_UNKNOWN (with
 * suggestions) for a key name.
 */
import { AtpError, isAtpError, parseCombo, SCENARIO_BUTTONS } from '@atp/protocol';

/** Longest line accepted (as long as the longest text one observed event may carry). */
export const MAX_LINE_CHARS = 4096;
/** Longest :wait, in ms. */
export const MAX_WAIT_MS = 600_000;

export type LineCommand =
  | { kind: 'none' }
  | { kind: 'quit' }
  | { kind: 'help' }
  | { kind: 'wait'; ms: number }
  /** `step` is one scenario step as the suite format spells it (validated when the suite is loaded). */
  | { kind: 'step'; step: Record<string, unknown> };

export const INTERACTIVE_HELP = [
  'type a line to type it into the guest, or:',
  '  :press COMBO...       keys or combos (ctrl+c, alt+f4, enter)',
  '  :click [BUTTON] [X,Y] left (default), right or middle, at X,Y pixels',
  '  :move X,Y             move the pointer to X,Y pixels',
  '  :wheel DY [DX]        scroll DY notches (positive: down)',
  '  :wait MS              pause for MS milliseconds',
  '  ::text                type ":text"',
  '  :help   :quit',
];

function bad(line: string, why: string): AtpError {
  return new AtpError('ATP_SCHEMA_INVALID', `${JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line)}: ${why}`, { details: { field: 'command', value: line.slice(0, 200) } });
}

const POSITION = /^(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/;

function position(line: string, text: string): { x: number; y: number } {
  const m = POSITION.exec(text);
  if (m === null) throw bad(line, `expected a position X,Y in pixels (e.g. 100,200), got ${JSON.stringify(text)}`);
  return { x: Number(m[1]), y: Number(m[2]) };
}

function notches(line: string, text: string, what: string): number {
  if (!/^[+-]?\d{1,3}$/.test(text)) throw bad(line, `${what}: expected a whole number of notches, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** What one input line asks for; throws an AtpError naming the line for a bad command. */
export function parseLine(line: string): LineCommand {
  if (line.length > MAX_LINE_CHARS) throw bad(line, `a line holds at most ${MAX_LINE_CHARS} characters (this one has ${line.length})`);
  if (line === '') return { kind: 'none' };
  if (!line.startsWith(':')) return { kind: 'step', step: { type: line } };
  if (line.startsWith('::')) return { kind: 'step', step: { type: line.slice(1) } };
  const [name = '', ...args] = line.slice(1).trim().split(/\s+/);
  switch (name) {
    case 'q':
    case 'quit':
    case 'help':
      if (args.length > 0) throw bad(line, `:${name} takes no arguments`);
      return { kind: name === 'help' ? 'help' : 'quit' };
    case 'wait': {
      const [ms] = args;
      if (args.length !== 1 || ms === undefined || !/^\d+$/.test(ms) || Number(ms) < 1 || Number(ms) > MAX_WAIT_MS) throw bad(line, `:wait takes milliseconds, 1 to ${MAX_WAIT_MS} (e.g. :wait 500)`);
      return { kind: 'wait', ms: Number(ms) };
    }
    case 'press': {
      if (args.length === 0) throw bad(line, ':press takes keys or combos (e.g. :press ctrl+c)');
      for (const combo of args) {
        try {
          parseCombo(combo);
        } catch (error) {
          if (!isAtpError(error)) throw error;
          throw new AtpError(error.code, `:press ${combo}: ${error.message}`, { cause: error, details: error.details });
        }
      }
      return { kind: 'step', step: { press: args } };
    }
    case 'click': {
      const rest = [...args];
      const button = rest[0] !== undefined && !POSITION.test(rest[0]) ? rest.shift() : undefined;
      if (button !== undefined && !(SCENARIO_BUTTONS as readonly string[]).includes(button)) throw bad(line, `unknown button ${JSON.stringify(button)} (${SCENARIO_BUTTONS.join(', ')})`);
      if (rest.length > 1) throw bad(line, ':click takes [BUTTON] [X,Y] (e.g. :click right 10,20)');
      const at = rest[0] === undefined ? undefined : position(line, rest[0]);
      return { kind: 'step', step: { click: button ?? 'left', ...(at === undefined ? {} : { at }) } };
    }
    case 'move': {
      if (args.length !== 1 || args[0] === undefined) throw bad(line, ':move takes a position X,Y (e.g. :move 300,400)');
      return { kind: 'step', step: { move: position(line, args[0]) } };
    }
    case 'wheel': {
      if (args.length < 1 || args.length > 2 || args[0] === undefined) throw bad(line, ':wheel takes DY [DX] notches (e.g. :wheel 3)');
      const dy = notches(line, args[0], 'DY');
      const dx = args[1] === undefined ? 0 : notches(line, args[1], 'DX');
      if (dy === 0 && dx === 0) throw bad(line, ':wheel needs at least one notch');
      return { kind: 'step', step: { wheel: { dy, dx } } };
    }
    default:
      throw bad(line, `unknown command :${name} (try :help; a line meant as text that starts with a colon is written ::text)`);
  }
}
