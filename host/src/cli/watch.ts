/**
 * `atp-host watch (--lab | --vm NAME[@HOST] --token T | --qmp SOCKET --agent EP --token T) [--json] [--for SECONDS]`:
 * opens the target and prints, live, everything its agent reports from then
 * on, one line each (event-lines.ts): keys (down/up/repeat), pointer moves,
 * buttons and wheel, text from a web observer, devices coming and going, and
 * the session's notices (agent connected/disconnected, started again, problems,
 * gaps). `--json` prints each hub item as one JSON line instead (the hub's
 * HubItem shape: `{ kind: 'event', event: {...} }` or a notice), for tools.
 * Who is observing (agent, devices) goes to stderr first.
 *
 * Runs until SIGINT/SIGTERM or `--for SECONDS`, then closes the target: a lab
 * VM is stopped, a libvirt domain keeps running. Exit code 0 then; 2 for a
 * usage error, 3 when the target cannot be opened or the hub's stream fails.
 *
 * `watchTarget` is the part a test (or another face) calls with a Target that
 * is already open; `AgentFollower` is shared with `atp-host interactive`.
 */
import { AtpError, isAtpError } from '@atp/protocol';
import type { AgentHub, HubItem } from '../hub/index.js';
import type { Target } from '../targets/index.js';
import { describeAgent, formatHubItem } from './event-lines.js';
import { checkTargetFlags, withHandsOnToken, EXIT_OK, handsOnSignals, handsOnUsage, openHandsOnTarget, type TargetFlags } from './hands-on-target.js';
import type { CliIo } from './program.js';

/**
 * Follows one agent's hub items from the moment of construction (the stream's
 * start index is taken synchronously, so input sent right after is seen) until
 * the signal aborts or the hub closes; each item goes to `onItem` in order.
 */
export class AgentFollower {
  /** Observed events delivered so far (notices not counted). */
  events = 0;
  items = 0;
  /** Set when the stream failed (not when it was stopped). */
  failure: AtpError | undefined;
  readonly done: Promise<void>;
  private ended = false;
  private readonly waiters = new Set<() => void>();

  constructor(hub: AgentHub, agentId: string, options: { signal: AbortSignal; onItem: (item: HubItem) => void }) {
    this.done = this.pump(hub.stream(agentId, { from: 'now', signal: options.signal }), options.onItem);
  }

  private async pump(stream: AsyncGenerator<HubItem>, onItem: (item: HubItem) => void): Promise<void> {
    try {
      for await (const item of stream) {
        this.items++;
        if (item.kind === 'event') this.events++;
        onItem(item);
        for (const w of [...this.waiters]) w();
      }
    } catch (error) {
      this.failure = isAtpError(error) ? error : new AtpError('ATP_HUB_STORE', `the hub stream failed: ${String(error)}`, { cause: error });
    } finally {
      this.ended = true;
      for (const w of [...this.waiters]) w();
    }
  }

  /** Resolves once `count` events were delivered (true), or after timeoutMs / when the stream ended (false). */
  whenEvents(count: number, timeoutMs: number): Promise<boolean> {
    if (this.events >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      let settled = false;
      const check = (): void => {
        if (!settled && (this.events >= count || this.ended)) finish(this.events >= count);
      };
      const finish = (ok: boolean): void => {
        settled = true;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

export interface WatchOptions {
  /** One line per item, newline included. */
  out: (text: string) => void;
  /** Who is observing, the guest's run state (stderr in the CLI); default: dropped. */
  note?: (text: string) => void;
  json?: boolean;
  /** Ends the watch. */
  signal: AbortSignal;
}

export interface WatchResult {
  items: number;
  events: number;
}

/** Prints the target's observed events and notices from now until `signal` aborts (or the hub closes). Throws the stream's failure. */
export async function watchTarget(target: Target, options: WatchOptions): Promise<WatchResult> {
  const follower = new AgentFollower(target.hub, target.agentId, {
    signal: options.signal,
    onItem: (item) => options.out(`${options.json === true ? JSON.stringify(item) : formatHubItem(item)}\n`),
  });
  const note = options.note ?? ((): void => undefined);
  for (const line of describeAgent(target.label, target.agentId, target.hub.agentHello(target.agentId))) note(`${line}\n`);
  const status = await target.guest.status().catch(() => undefined);
  if (status !== undefined && !status.running) note(`the guest is ${status.status}: no input reaches it until it runs\n`);
  note('watching; stop with Ctrl+C\n');
  await follower.done;
  if (follower.failure !== undefined) throw follower.failure;
  return { items: follower.items, events: follower.events };
}

export interface WatchFlags extends TargetFlags {
  json?: boolean;
  for?: string;
}

function forMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > 7 * 24 * 3600) throw handsOnUsage('watch', `--for ${JSON.stringify(text)}: expected seconds, more than 0`, 'for');
  return seconds * 1000;
}

/** `atp-host watch` (watch-command.ts defines it). */
export async function watchCommand(given: WatchFlags, rawIo: CliIo, setExitCode: (code: number) => void): Promise<void> {
  const { flags, io } = await withHandsOnToken('watch', given, rawIo);
  checkTargetFlags('watch', flags);
  const duration = forMs(flags.for);
  const signals = handsOnSignals('watch', io);
  try {
    let opened;
    try {
      opened = await openHandsOnTarget('watch', flags, { signal: signals.signal, log: (line) => io.err(`watch: ${line}\n`) });
    } catch (error) {
      if (!signals.signal.aborted || !isAtpError(error)) throw error;
      io.err(`atp-host watch: stopped while opening the target (${error.code})\n`);
      return setExitCode(EXIT_OK);
    }
    try {
      const signal = duration === undefined ? signals.signal : AbortSignal.any([signals.signal, AbortSignal.timeout(duration)]);
      await watchTarget(opened.target, { out: io.out, note: io.err, json: flags.json === true, signal });
    } finally {
      await opened.close();
    }
    setExitCode(EXIT_OK);
  } finally {
    signals.dispose();
  }
}
