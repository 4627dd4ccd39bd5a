/**
 * The hands-on commands on one real lab VM (Debian kernel, busybox, the guest
 * agent reading evdev), booted once for the whole file:
 *
 *  - `watchTarget` (atp-host watch) prints the keys a separate QmpInjector
 *    sends, by name, down and up, in order; with --json every line is a HubItem;
 *  - `runInteractive` (atp-host interactive) types text, presses a combo,
 *    clicks (twice at one place), rejects bad commands with a typed error and
 *    carries on, and stops at :quit;
 *  - the CLI itself: `atp-host interactive --qmp … --agent virtio:… --token-file …`
 *    with a piped stdin and `atp-host watch … --for 1 --json`, against the same
 *    VM once the in-process target has let go of its QMP socket and agent
 *    channel (each takes one client at a time).
 * The lab VM is started with `labUp` directly (not startLabTarget) so that its
 * sockets outlive the first target and the CLI can open the VM again.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInteractive } from '../host/src/cli/interactive.js';
import { runCli } from '../host/src/cli/program.js';
import { watchTarget } from '../host/src/cli/watch.js';
import { AgentHub, HubItemSchema } from '../host/src/hub/index.js';
import { comboToKeystroke, QmpInjector, textToKeystrokes } from '../host/src/inject/index.js';
import { labDown, labUp, statePaths, type LabVm } from '../host/src/lab/index.js';
import { defaultCacheDir } from '../host/src/lab/paths.js';
import { waitForAgentSession } from '../host/src/scenario/index.js';
import { makeTarget, qgaSocketClock, type Target } from '../host/src/targets/index.js';
import { QmpClient } from '../host/src/vm/qmp/index.js';
import { requireBinary } from '../host/test/support/binaries.js';
import { qemuProcessesFor } from './support/e2e-lab.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
/** The guest agent of this checkout, bundled into the lab image (as the lab target does). */
const AGENT = { agent: path.join(repo, 'guest-agent/src/main.ts'), agentAliases: { '@atp/protocol': path.join(repo, 'protocol-schemas/src/index.ts') } };
const SCREEN = { width: 1024, height: 768 };
const token = randomBytes(16).toString('hex');
let stateDir: string | undefined;
let vm: LabVm | undefined;
let target: Target | undefined;

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-hands-on-'));
  // The hub connects to the agent's chardev before the boot, as the lab target does: the agent finds it at once.
  const hub = await AgentHub.create({ auth: { tokens: [token] } });
  const channel = await hub.connectVirtio({ path: statePaths(stateDir).agent, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 500 }, bind: { key: 'lab' } });
  let qmp: QmpClient | undefined;
  const close = async (): Promise<void> => {
    await qmp?.close();
    await channel.close();
    await hub.close();
  };
  try {
    vm = await labUp({ stateDir, cacheDir: defaultCacheDir(), ...AGENT, agentId: 'lab', token, waitForAgent: false, killOnExit: true, readyTimeoutMs: 240_000 });
    qmp = await QmpClient.connect({ path: vm.state.sockets.qmp }, { connectTimeoutMs: 10_000 });
    const agentId = await waitForAgentSession(hub, { agentId: 'lab', timeoutMs: 120_000 });
    // The clock the lab target uses: qemu-ga's guest-get-time (the hub's ping estimate is looser under a loaded TCG guest).
    const clock = qgaSocketClock(vm.state.sockets.qga);
    target = makeTarget({ label: 'lab', agentId, hub, qmp, clock, route: vm.route, openMs: vm.bootMs, close });
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}, 600_000);

afterAll(async () => {
  await target?.close().catch(() => undefined);
  if (stateDir === undefined) return;
  await labDown({ stateDir });
  expect(qemuProcessesFor(stateDir)).toEqual([]);
  await rm(stateDir, { recursive: true, force: true });
}, 120_000);

function open(): Target {
  if (target === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  return target;
}

async function until(what: string, ready: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Collects written text as complete lines. */
function lineSink(): { lines: string[]; write: (text: string) => void } {
  const lines: string[] = [];
  let partial = '';
  return {
    lines,
    write: (text) => {
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    },
  };
}

const KEY_LINE = /^\d\d:\d\d:\d\d\.\d{3} \S+\s+key (KEY_\w+) (down|up|repeat)( \([a-z+]+\))?$/;
const keyLines = (lines: readonly string[]): string[] => lines.flatMap((l) => {
  const m = KEY_LINE.exec(l.trim());
  return m === null ? [] : [`${m[1]} ${m[2]}`];
});

async function inject(t: Target, send: (injector: QmpInjector) => Promise<void>): Promise<void> {
  const injector = new QmpInjector({ executor: t.qmp, screen: SCREEN });
  try {
    await send(injector);
  } finally {
    await injector.close();
  }
}

describe('watch and interactive on an open target', () => {
  it('watch prints the keys a separate injector sends: names, down and up, in order', async () => {
    const t = open();
    const out = lineSink();
    const notes = lineSink();
    const stop = new AbortController();
    const watching = watchTarget(t, { out: out.write, note: notes.write, signal: stop.signal });
    await inject(t, async (injector) => {
      for (const k of textToKeystrokes('ab', 'us')) await injector.send(k.actions);
      await injector.send(comboToKeystroke('ctrl+c').actions);
    });
    const expected = ['KEY_A down', 'KEY_A up', 'KEY_B down', 'KEY_B up', 'KEY_LEFTCTRL down', 'KEY_C down', 'KEY_C up', 'KEY_LEFTCTRL up'];
    await until('the watched keys', () => keyLines(out.lines).length >= expected.length);
    stop.abort();
    const result = await watching;
    expect(keyLines(out.lines)).toEqual(expected);
    // The guest's modifier state rides along: C went down while Ctrl was held.
    expect(out.lines.find((l) => / key KEY_C down/.test(l))).toMatch(/ \(ctrl\)$/);
    expect(result.events).toBe(out.lines.length);
    // Who is observing went to the notes: the agent and its keyboard.
    expect(notes.lines[0]).toMatch(/^lab: agent lab, atp-agent \S+ on linux /);
    expect(notes.lines.some((l) => /device \S+\s+".*keyboard.*" \(keyboard\)/i.test(l))).toBe(true);
  }, 60_000);

  it('watch --json prints one hub item per line', async () => {
    const t = open();
    const out = lineSink();
    const stop = new AbortController();
    const watching = watchTarget(t, { out: out.write, json: true, signal: stop.signal });
    await inject(t, async (injector) => void (await injector.send(comboToKeystroke('x').actions)));
    await until('two JSON lines', () => out.lines.length >= 2);
    stop.abort();
    await watching;
    const items = out.lines.map((l) => HubItemSchema.parse(JSON.parse(l)));
    expect(items.map((i) => (i.kind === 'event' && i.event.kind === 'key' ? `${i.event.key} ${i.event.action}` : i.kind))).toEqual(['KEY_X down', 'KEY_X up']);
    expect(items.every((i) => i.agentId === 'lab')).toBe(true);
  }, 60_000);

  it('interactive verifies each line, reports bad commands and carries on until :quit', async () => {
    const t = open();
    const out = lineSink();
    const input = Readable.from(['hello\n', ':press ctrl+a\n', ':click 100,200\n', ':click 100,200\n', ':bogus\n', ':click x\n', 'ok\r\n', ':quit\n', 'never typed\n']);
    const result = await runInteractive(t, { input, out: out.write, echo: true });
    expect(result).toEqual({ ran: 5, passed: 5, rejected: 2, quit: true });
    const verdicts = out.lines.filter((l) => /^(ok|FAIL|ERROR|error) /.test(l));
    expect(verdicts).toHaveLength(7);
    // p50 may come out negative: the guest clock estimate under a loaded TCG host is off by more than the latency (see the report).
    expect(verdicts[0]).toMatch(/^ok 10 keys, p50 -?\d+(\.\d+)? ms( \(clock ±[\d.]+ ms\))?$/);
    expect(verdicts[1]).toMatch(/^ok 4 keys, p50 /);
    expect(verdicts[2]).toMatch(/^ok 1 move, 2 buttons, p50 /);
    // The second click at the same place gets a one-pixel nudge first, so the guest reports the position again.
    expect(verdicts[3]).toMatch(/^ok 2 moves, 2 buttons, p50 /);
    expect(verdicts[4]).toBe('error ATP_SCHEMA_INVALID: ":bogus": unknown command :bogus (try :help; a line meant as text that starts with a colon is written ::text)');
    expect(verdicts[5]).toBe('error ATP_SCHEMA_INVALID: ":click x": unknown button "x" (left, right, middle)');
    expect(verdicts[6]).toMatch(/^ok 4 keys, p50 /);
    // The guest's events are printed (live) between a line's echo and its verdict.
    const hello = out.lines.slice(out.lines.indexOf('> hello'), out.lines.indexOf(verdicts[0] ?? ''));
    expect(keyLines(hello)).toEqual(['H', 'E', 'L', 'L', 'O'].flatMap((k) => [`KEY_${k} down`, `KEY_${k} up`]));
    const press = out.lines.slice(out.lines.indexOf('> :press ctrl+a'), out.lines.indexOf(verdicts[1] ?? ''));
    expect(keyLines(press)).toEqual(['KEY_LEFTCTRL down', 'KEY_A down', 'KEY_A up', 'KEY_LEFTCTRL up']);
    const click = out.lines.slice(out.lines.indexOf('> :click 100,200'), out.lines.indexOf(verdicts[2] ?? ''));
    expect(click.filter((l) => / button left (down|up)/.test(l))).toHaveLength(2);
    expect(out.lines).not.toContain('> never typed');
  }, 90_000);

  it('interactive ends at the end of the input, also after a last line without a newline', async () => {
    const out = lineSink();
    const result = await runInteractive(open(), { input: Readable.from(['\n', 'z']), out: out.write });
    expect(result).toEqual({ ran: 1, passed: 1, rejected: 0, quit: false });
    expect(keyLines(out.lines)).toEqual(['KEY_Z down', 'KEY_Z up']);
    expect(out.lines.at(-1)).toMatch(/^ok 2 keys, p50 /);
  }, 60_000);
});

describe('the CLI on the same VM', () => {
  beforeAll(async () => {
    // Free the VM's QMP socket and agent channel for the CLI's own target.
    await target?.close();
    target = undefined;
  });

  const vmFlags = (): string[] => {
    if (stateDir === undefined || vm === undefined) throw new Error('the lab VM did not start (see beforeAll)');
    // The token from its 0600 file (the lab's own): a token on the command line would draw a warning.
    return ['--qmp', vm.state.sockets.qmp, '--agent', `virtio:${statePaths(stateDir).agent}`, '--token-file', statePaths(stateDir).token];
  };

  it('atp-host interactive with a piped stdin: ok, a typed error, ok, exit 0 at :quit', async () => {
    const out = lineSink();
    const err = lineSink();
    const input = Readable.from(['hi\n', ':foo\n', ':press enter\n', ':quit\n']);
    const code = await runCli(['interactive', ...vmFlags()], { out: out.write, err: err.write, input });
    expect(err.lines.filter((l) => l.startsWith('atp-host'))).toEqual([]);
    expect(code).toBe(0);
    expect(out.lines.filter((l) => /^(ok|FAIL|ERROR|error) /.test(l))).toEqual([
      expect.stringMatching(/^ok 4 keys, p50 /),
      expect.stringMatching(/^error ATP_SCHEMA_INVALID: ":foo": unknown command :foo/),
      expect.stringMatching(/^ok 2 keys, p50 /),
    ]);
    expect(err.lines).toContain('interactive: 2 line(s) run, 2 passed, 0 failed, 1 rejected');
  }, 90_000);

  it('atp-host watch --json --for 1 ends by itself with exit 0', async () => {
    const out = lineSink();
    const err = lineSink();
    const started = Date.now();
    const code = await runCli(['watch', ...vmFlags(), '--json', '--for', '1'], { out: out.write, err: err.write });
    expect(err.lines.filter((l) => l.startsWith('atp-host'))).toEqual([]);
    expect(code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    for (const line of out.lines) HubItemSchema.parse(JSON.parse(line));
  }, 60_000);

  it('refuses mixed target flags before touching anything (exit 2)', async () => {
    const err = lineSink();
    const code = await runCli(['watch', '--lab', ...vmFlags()], { out: () => undefined, err: err.write });
    expect(code).toBe(2);
    expect(err.lines.join('\n')).toContain('atp-host: ATP_SCHEMA_INVALID: watch: give exactly one of --lab, --vm NAME[@HOST] --token T, or --qmp SOCKET --agent ENDPOINT --token T (got --lab, --qmp)');
  });
});
