/**
 * `atp-host interactive (--lab | --vm NAME[@HOST] --token T | --qmp SOCKET --agent EP --token T) [--layout us] [--screen WxH]`:
 * a hands-on session. Each line read from stdin (interactive-commands.ts: text,
 * `:press ctrl+c`, `:click right 10,20`, `:move 300,400`, `:wheel 3`,
 * `:wait 500`, `:quit`) becomes a one-step suite plus an expect checkpoint,
 * built in memory, loaded by the suite loader (so its checks apply: key names,
 * text on the layout, positions on the screen) and run with runSuite under
 * closed-loop pacing, exactly as `verify` would run it.
 *
 * Output, on stdout: the guest's events are printed live as they arrive
 * (indented, the `watch` format; also events between lines), then one verdict
 * per line once the checkpoint settled: `ok 10 keys, p50 9.1 ms`, or `FAIL …`
 * with the counts and one finding per line (formatFinding), or `ERROR CODE: …`
 * when the run could not finish (QMP or the hub gone). A bad command prints
 * `error CODE: message` and the session carries on. When the input is not a
 * terminal, each line is echoed (`> hello`) so the transcript reads on its own.
 * `:wait MS` is a pause on the host (events keep printing), not a suite: a suite
 * that sends nothing has nothing to verify.
 *
 * Ends on EOF, `:quit` or SIGINT/SIGTERM and closes the target (a lab VM
 * stops). Exit code 0 when every line passed, 1 when one failed or errored
 * (bad commands do not count), 2 for a usage error, 3 when the target cannot
 * be opened.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError, DEFAULT_SCREEN, isAtpError, type SuiteReport } from '@atp/protocol';
import { getLayout, type ScreenSize } from '../inject/index.js';
import { formatCounts } from '../report/format.js';
import { failingFindings, formatFinding, formatMs, printable } from '../report/index.js';
import { parseSuiteText, runSuite, type LoadedSuite, type SuiteRun } from '../scenario/index.js';
import type { Target } from '../targets/index.js';
import { formatHubItem } from './event-lines.js';
import { checkTargetFlags, withHandsOnToken, EXIT_FAILED, EXIT_OK, handsOnSignals, handsOnUsage, openHandsOnTarget, type TargetFlags } from './hands-on-target.js';
import { INTERACTIVE_HELP, MAX_LINE_CHARS, parseLine } from './interactive-commands.js';
import { LineReader } from './line-reader.js';
import type { CliIo } from './program.js';
import { AgentFollower } from './watch.js';

export interface InteractiveOptions {
  input: NodeJS.ReadableStream;
  /** Events, verdicts and errors, newline included. */
  out: (text: string) => void;
  /** The guest's keyboard layout for text (default us). */
  layout?: string;
  screen?: ScreenSize;
  /** Echo each line read (`> line`): for piped input. */
  echo?: boolean;
  /** How long a line's checkpoint waits for the guest (default 5000 ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface InteractiveResult {
  /** Lines that ran as a suite, and how they came out. */
  ran: number;
  passed: number;
  /** Bad commands (printed as `error …`). */
  rejected: number;
  /** Ended by :quit (else EOF or the signal). */
  quit: boolean;
}

/** How long to wait for the live printer to show a line's events before its verdict. */
const DRAIN_MS = 1000;

function lineSuite(steps: readonly Record<string, unknown>[], n: number, context: { label: string; layout: string; screen: ScreenSize; observer: 'agent' | 'web'; timeoutMs: number }, line: string): LoadedSuite {
  const suite = {
    version: 1,
    name: `line ${n}`,
    target: { vm: context.label, layout: context.layout, screen: context.screen },
    observer: context.observer,
    defaults: { pacing: 'closed' },
    steps: [...steps, { expect: { timeoutMs: context.timeoutMs } }],
  };
  try {
    // JSON is YAML: the loader validates it like a suite file.
    return parseSuiteText(JSON.stringify(suite), `line ${n}`);
  } catch (error) {
    if (!isAtpError(error, 'ATP_SCENARIO_INVALID')) throw error;
    const issues = error.details['issues'];
    const messages = Array.isArray(issues) ? issues.map((i: { message?: unknown }) => String(i.message)) : [error.message];
    throw new AtpError('ATP_SCENARIO_INVALID', `${JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line)}: ${messages.join('; ')}`, { cause: error, details: error.details });
  }
}

type Point = { x: number; y: number };

/** Where a :move or :click step puts the pointer, if it moves it. */
function destination(step: Record<string, unknown>): Point | undefined {
  const p = step['move'] ?? step['at'];
  return typeof p === 'object' && p !== null && 'x' in p && 'y' in p && typeof p.x === 'number' && typeof p.y === 'number' ? { x: p.x, y: p.y } : undefined;
}

/**
 * A move to where the pointer already is produces no evdev event, and each
 * line's suite observes from its own start (before its first event the
 * position counts as 0,0): a second `:click 100,200` would fail although the
 * guest is right. Such a step gets a one-pixel move first, so the guest
 * reports the position again.
 */
function withNudge(step: Record<string, unknown>, pointer: Point | undefined): Record<string, unknown>[] {
  const to = destination(step);
  if (to === undefined || pointer === undefined || to.x !== pointer.x || to.y !== pointer.y) return [step];
  return [{ move: { x: to.x > 0 ? to.x - 1 : to.x + 1, y: to.y } }, step];
}

function lastMove(run: SuiteRun): Point | undefined {
  for (let i = run.injected.length - 1; i >= 0; i--) {
    const a = run.injected[i]?.action;
    if (a?.kind === 'move') return { x: a.x, y: a.y };
  }
  return undefined;
}

/** "10 keys", "1 move, 2 buttons, p50 9.1 ms": what the line sent and its median latency. */
function sentSummary(run: SuiteRun): string {
  const tally = { key: 0, button: 0, move: 0, wheel: 0 };
  for (const a of run.injected) if (a.action.kind in tally) tally[a.action.kind as keyof typeof tally]++;
  const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  const parts = [
    tally.key > 0 ? plural(tally.key, 'key', 'keys') : undefined,
    tally.move > 0 ? plural(tally.move, 'move', 'moves') : undefined,
    tally.button > 0 ? plural(tally.button, 'button', 'buttons') : undefined,
    tally.wheel > 0 ? plural(tally.wheel, 'wheel notch', 'wheel notches') : undefined,
  ].filter((p) => p !== undefined);
  const latency = run.report.latency;
  // A loose clock estimate (the hub's pings, no qemu-ga) can make latencies look negative: say how loose.
  if (latency !== undefined && latency.n > 0) parts.push(`p50 ${formatMs(latency.p50Ms)}${latency.clockUncertaintyMs >= 1 ? ` (clock ±${formatMs(latency.clockUncertaintyMs)})` : ''}`);
  return parts.length === 0 ? 'nothing sent' : parts.join(', ');
}

/** The verdict of one line: `ok …`, or `FAIL …` / `ERROR …` followed by its findings, one per line. */
export function verdictLines(run: SuiteRun): string[] {
  const report: SuiteReport = run.report;
  const summary = sentSummary(run);
  if (report.verdict === 'pass') return [`ok ${summary}`];
  const head = report.verdict === 'error' ? `ERROR ${report.error?.code ?? 'ATP_INJECT_CLOSED'}: ${printable(report.error?.message ?? 'the run stopped')} (${summary})` : `FAIL ${summary}: ${formatCounts(report.counts)}`;
  return [head, ...failingFindings(report).map((f) => `  ${formatFinding(f)}`)];
}

/** Runs the session on an open target until EOF, :quit or the signal; the caller closes the target. */
export async function runInteractive(target: Target, options: InteractiveOptions): Promise<InteractiveResult> {
  const layout = options.layout ?? 'us';
  getLayout(layout);
  const { out } = options;
  const context = {
    label: target.label,
    layout,
    screen: options.screen ?? { ...DEFAULT_SCREEN },
    observer: target.hub.agentHello(target.agentId)?.captureBackends.includes('dom') === true ? ('web' as const) : ('agent' as const),
    timeoutMs: options.timeoutMs ?? 5000,
  };
  const result: InteractiveResult = { ran: 0, passed: 0, rejected: 0, quit: false };
  const stopFollowing = new AbortController();
  const follower = new AgentFollower(target.hub, target.agentId, { signal: stopFollowing.signal, onItem: (item) => out(`  ${formatHubItem(item)}\n`) });
  /** Where this session last moved the pointer. */
  let pointer: Point | undefined;
  const reader = new LineReader(options.input, { ...(options.signal === undefined ? {} : { signal: options.signal }), maxChars: MAX_LINE_CHARS + 1 });
  try {
    for (let n = 1; options.signal?.aborted !== true; n++) {
      const line = await reader.next();
      if (line === undefined) break;
      if (options.echo === true) out(`> ${printable(line)}\n`);
      let loaded: LoadedSuite;
      try {
        const command = parseLine(line);
        if (command.kind === 'none') continue;
        if (command.kind === 'quit') {
          result.quit = true;
          break;
        }
        if (command.kind === 'help') {
          out(`${INTERACTIVE_HELP.join('\n')}\n`);
          continue;
        }
        if (command.kind === 'wait') {
          await sleep(command.ms, undefined, options.signal === undefined ? {} : { signal: options.signal }).catch(() => undefined);
          out(`ok waited ${command.ms} ms\n`);
          continue;
        }
        loaded = lineSuite(withNudge(command.step, pointer), n, context, line);
      } catch (error) {
        if (!isAtpError(error)) throw error;
        result.rejected++;
        out(`error ${error.code}: ${printable(error.message)}\n`);
        continue;
      }
      const before = follower.events;
      const injector = target.injector(loaded.scenario.target.screen);
      let run: SuiteRun;
      try {
        run = await runSuite(
          loaded,
          { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, vm: target.label, ...(target.clock === undefined ? {} : { clock: target.clock }), ...(target.inputDevice === undefined ? {} : { inputDevice: target.inputDevice }) },
          options.signal === undefined ? {} : { signal: options.signal },
        );
      } finally {
        await injector.close().catch(() => undefined);
      }
      // The live printer saw everything the suite observed: let it print those before the verdict.
      await follower.whenEvents(before + run.observed.length, DRAIN_MS);
      pointer = lastMove(run) ?? pointer;
      result.ran++;
      if (run.report.verdict === 'pass') result.passed++;
      out(`${verdictLines(run).join('\n')}\n`);
    }
  } finally {
    stopFollowing.abort();
    await follower.done;
    await reader.close();
  }
  return result;
}

export interface InteractiveFlags extends TargetFlags {
  layout?: string;
  screen?: string;
}

function screenOf(text: string | undefined): ScreenSize | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(text);
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (m === null || width < 1 || height < 1) throw handsOnUsage('interactive', `--screen ${JSON.stringify(text)}: expected WIDTHxHEIGHT in pixels, e.g. 1920x1080`, 'screen');
  return { width, height };
}

/** `atp-host interactive` (interactive-command.ts defines it). */
export async function interactiveCommand(given: InteractiveFlags, rawIo: CliIo, setExitCode: (code: number) => void): Promise<void> {
  const { flags, io } = await withHandsOnToken('interactive', given, rawIo);
  checkTargetFlags('interactive', flags);
  const screen = screenOf(flags.screen);
  getLayout(flags.layout ?? 'us');
  const input = io.input ?? process.stdin;
  const signals = handsOnSignals('interactive', io);
  try {
    let opened;
    try {
      opened = await openHandsOnTarget('interactive', flags, { signal: signals.signal, log: (line) => io.err(`interactive: ${line}\n`) });
    } catch (error) {
      if (!signals.signal.aborted || !isAtpError(error)) throw error;
      io.err(`atp-host interactive: stopped while opening the target (${error.code})\n`);
      return setExitCode(EXIT_OK);
    }
    let result: InteractiveResult;
    try {
      const tty = (input as { isTTY?: boolean }).isTTY === true;
      io.err(`interactive on ${printable(opened.target.label)}: type a line, or :help; :quit or Ctrl+D ends\n`);
      result = await runInteractive(opened.target, {
        input,
        out: io.out,
        echo: !tty,
        signal: signals.signal,
        ...(flags.layout === undefined ? {} : { layout: flags.layout }),
        ...(screen === undefined ? {} : { screen }),
      });
    } finally {
      await opened.close();
    }
    io.err(`interactive: ${result.ran} line(s) run, ${result.passed} passed, ${result.ran - result.passed} failed, ${result.rejected} rejected\n`);
    setExitCode(result.passed === result.ran ? EXIT_OK : EXIT_FAILED);
  } finally {
    signals.dispose();
  }
}
