/**
 * The agent says what is wrong on its side, and which part of it is stuck,
 * instead of staying silent: the real
 * agent run loop (runAgent with the stdin-json capture over a TCP link) against
 * the real hub (AgentHub), with real faults: a host that is not there yet, and
 * libuv's threadpool starved by blocked opens of FIFOs, the failure that once
 * kept an agent with four input devices from ever saying hello.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeInputEvents } from '@atp/protocol';
import { runAgent } from '../guest-agent/src/cli/agent.js';
import { createJsonLogger } from '../guest-agent/src/cli/log.js';
import { loadAgentConfig } from '../guest-agent/src/config.js';
import { AgentHub, type HubItem } from '../host/src/hub/index.js';
import { StreamCollector } from '../host/test/support/hub-collect.js';
import { waitUntil } from './support/chaos-hub.js';

const TOKEN = 'watchdog-token';
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface RunningAgent {
  lines: string[];
  stdin: PassThrough;
}

async function startAgent(port: number, agentId: string, flags: Record<string, string> = { capture: 'stdin-json' }): Promise<RunningAgent> {
  const config = await loadAgentConfig({
    flags: { link: 'tcp', endpoint: `127.0.0.1:${port}`, token: TOKEN, agentId, watchdogMs: '1000', ...flags },
  });
  const lines: string[] = [];
  const stdin = new PassThrough();
  let stop: (signal: string) => void = () => undefined;
  const stopSignal = new Promise<string>((resolve) => (stop = resolve));
  const running = runAgent(config, { logger: createJsonLogger('info', (line) => void lines.push(line)), stdin, stopSignal });
  cleanups.push(async () => {
    stop('SIGTERM');
    await running;
  });
  return { lines, stdin };
}

async function startHub(port: number): Promise<{ hub: AgentHub; items: StreamCollector }> {
  const hub = await AgentHub.create({ auth: { tokens: [TOKEN] } });
  cleanups.push(() => hub.close());
  await hub.listenTcp({ host: '127.0.0.1', port });
  return { hub, items: new StreamCollector(hub.stream()) };
}

const stalled = (items: HubItem[], part: string, resolved: boolean): boolean =>
  items.some((i) => i.kind === 'problem' && i.problem.code === 'ATP_AGENT_STALLED' && i.problem.details?.['part'] === part && (i.problem.resolvedAt !== undefined) === resolved);

describe('agent watchdog', () => {
  it('logs a host it cannot reach past the bound, and tells the hub once it is reachable (hello, then resolved)', async () => {
    const port = await freePort();
    const agent = await startAgent(port, 'wd-link');
    await waitUntil(() => agent.lines.some((l) => l.includes('ATP_AGENT_STALLED') && l.includes('"part":"link"')), 'the stall in the log', 20_000, () => agent.lines.join(''));
    const stall = JSON.parse(agent.lines.find((l) => l.includes('ATP_AGENT_STALLED')) ?? '{}') as { msg?: string; what?: string };
    expect(stall.msg).toMatch(/^watchdog: link has been stuck for \d+ s waiting for a welcome from the host over tcp:\/\/127\.0\.0\.1:\d+ \(last failure: ATP_AGENT_CONNECT: /);
    expect(stall.what).toContain('ATP_AGENT_CONNECT');

    const { items } = await startHub(port);
    await items.until((all) => stalled(all, 'link', true), 'the resolved stall', 30_000);
    const connected = items.of('connected')[0];
    // The hello was written before the welcome: it carries the stall still open.
    expect(connected?.hello.problems).toMatchObject([{ code: 'ATP_AGENT_STALLED', details: { part: 'link' } }]);
    expect(connected?.hello.problems?.[0]?.resolvedAt).toBeUndefined();
    const resolved = items.of('problem')[0]?.problem;
    expect(resolved?.message).toMatch(/^link was stuck for \d+ s waiting for a welcome/);
    // And the agent works: an event pushed now arrives.
    agent.stdin.write(`${JSON.stringify({ kind: 'key', t: Date.now(), device: 'stdin', key: 'KEY_A', action: 'down' })}\n`);
    await items.until((all) => all.some((i) => i.kind === 'event' && i.event.kind === 'key'), 'the key event');
  });

  it('names a starved libuv threadpool live to the hub, and clears it when the pool drains', async () => {
    const port = await freePort();
    const { hub, items } = await startHub(port);
    const agent = await startAgent(port, 'wd-pool');
    await waitUntil(() => hub.sessions().some((s) => s.agentId === 'wd-pool' && s.state === 'active'), 'the agent session', 20_000);

    // A blocking open of a FIFO holds a pool thread until a writer appears: hold every thread.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-pool-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const threads = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10) || 4;
    const fifos = Array.from({ length: threads }, (_, i) => path.join(dir, `f${i}`));
    for (const fifo of fifos) {
      const made = spawnSync('mkfifo', [fifo]);
      if (made.status !== 0) throw new Error(`mkfifo is required by this test (apt-get install -y coreutils): ${String(made.error ?? made.stderr)}`);
    }
    const opened: number[] = [];
    for (const fifo of fifos) fs.open(fifo, 'r', (error, fd) => (error === null ? opened.push(fd) : undefined));
    const release = (): void => {
      for (const fifo of fifos) {
        try {
          fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
        } catch {
          // no reader (any more) on this one
        }
      }
    };
    cleanups.push(release);

    await items.until((all) => stalled(all, 'threadpool', false), 'the threadpool stall at the hub', 20_000);
    expect(agent.lines.some((l) => l.includes('watchdog: threadpool has been stuck'))).toBe(true);
    release();
    await items.until((all) => stalled(all, 'threadpool', true), 'the threadpool stall resolved', 20_000);
    await waitUntil(() => opened.length === threads, 'the blocked opens to finish', 10_000);
    for (const fd of opened) fs.closeSync(fd);
  });

  it('tells the hub about input devices beyond its limit, in the hello, and captures the ones it holds', async () => {
    const port = await freePort();
    const { items } = await startHub(port);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-limit-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const block = (n: number): string =>
      [`I: Bus=0011 Vendor=0001 Product=0001 Version=ab41`, `N: Name="keyboard ${n}"`, `P: Phys=isa/input${n}`, `S: Sysfs=/devices/input/input${n}`, 'U: Uniq=', `H: Handlers=kbd event${n}`, 'B: PROP=0', 'B: EV=120013', 'B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe', ''].join('\n');
    fs.writeFileSync(path.join(dir, 'devices'), [1, 2, 3].map(block).join('\n'));
    for (const n of [1, 2, 3]) {
      const made = spawnSync('mkfifo', [path.join(dir, `event${n}`)]);
      if (made.status !== 0) throw new Error(`mkfifo is required by this test (apt-get install -y coreutils): ${String(made.error ?? made.stderr)}`);
    }
    const agent = await startAgent(port, 'wd-limit', { capture: 'linux-evdev', evdevDir: dir, evdevDevicesFile: path.join(dir, 'devices'), maxDevices: '2' });
    await items.until((all) => all.some((i) => i.kind === 'connected'), 'the agent session');
    const hello = items.of('connected')[0]?.hello;
    expect(hello?.problems).toMatchObject([{ code: 'ATP_CAPTURE_DEVICE_LIMIT', details: { device: 'event3', open: 2, maxDevices: 2 } }]);
    expect(agent.lines.some((l) => l.includes('ATP_CAPTURE_DEVICE_LIMIT'))).toBe(true);
    const writer = fs.openSync(path.join(dir, 'event1'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    cleanups.push(() => fs.closeSync(writer));
    fs.writeSync(writer, encodeInputEvents([{ sec: 1, usec: 0, type: 1, code: 30, value: 1 }, { sec: 1, usec: 0, type: 0, code: 0, value: 0 }]));
    await items.until((all) => all.some((i) => i.kind === 'event' && i.event.kind === 'key' && i.event.device === 'event1'), 'the key from event1');
  });
});
