/**
 * `npm run bench -- capture`: what the agent's evdev capture costs. The agent
 * (the esbuild bundle on the pinned Node the single-file agents embed) reads 16
 * FIFO devices standing in for /dev/input/event* (--evdev-dir and
 * --evdev-devices-file), connected to a real hub over TCP. Baseline in the same
 * run: the same agent with the stdin-json capture (no devices), idle and fed the
 * same event rate as JSON lines. Figures: threads, RSS, CPU at idle and at
 * ATP_BENCH_CAPTURE_RATE events/s (default 1000) over ATP_BENCH_CAPTURE_S
 * seconds (default 20), and events delivered to the hub (must equal those sent).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeInputEvents } from '@atp/protocol';
import { AgentHub } from '../host/src/hub/index.js';
import { bundleAgent } from '../guest-agent/packaging/bundle.js';
import { fetchPinned, readPinned } from '../guest-agent/packaging/pinned.js';
import { baseEnv, printTable, round, type BenchResult } from './support.js';

const SECONDS = Number(process.env['ATP_BENCH_CAPTURE_S'] ?? 20);
const RATE = Number(process.env['ATP_BENCH_CAPTURE_RATE'] ?? 1000);
const DEVICES = 16;
const TOKEN = 'bench-token';
const CLK_TCK = 100;

const keyboardBlock = (n: number): string => `I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
N: Name="bench keyboard ${n}"
P: Phys=bench/input${n}
S: Sysfs=/devices/bench/input/input${n}
U: Uniq=
H: Handlers=kbd event${n}
B: PROP=0
B: EV=120013
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe
B: MSC=10
B: LED=7
`;

interface Sample {
  ticks: number;
  rssKb: number;
  threads: number;
}

async function sample(pid: number): Promise<Sample> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { ticks: Number(fields[11]) + Number(fields[12]), rssKb: field('VmRSS'), threads: field('Threads') };
}

interface Phase {
  cpuPercent: number;
  rssMb: number;
  threads: number;
  sent: number;
  delivered: number;
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `feed(n)` every 10 ms with the events due (rate/100 per tick, deadline-paced) for SECONDS; measures the agent meanwhile. */
async function phase(pid: number, delivered: () => number, feed: ((count: number) => void) | undefined): Promise<Phase> {
  const start = delivered();
  const a = await sample(pid);
  const t0 = Date.now();
  let sent = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 10));
    if (feed === undefined) continue;
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE) - sent;
    if (due > 0) {
      feed(due);
      sent += due;
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  const b = await sample(pid);
  await waitFor(() => delivered() - start >= sent, `${sent} events at the hub`).catch(() => undefined);
  return { cpuPercent: round(((b.ticks - a.ticks) / CLK_TCK / seconds) * 100, 2), rssMb: round(b.rssKb / 1024, 1), threads: b.threads, sent, delivered: delivered() - start };
}

export async function run(): Promise<BenchResult> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-capture-bench-'));
  const hub = await AgentHub.create({ auth: { tokens: [TOKEN] } });
  const children: ChildProcess[] = [];
  const fds: number[] = [];
  try {
    const bundle = (await bundleAgent(path.join(scratch, 'atp-agent.cjs'))).file;
    const pinned = (await readPinned()).nodes['linux-x64'];
    const node = await fetchPinned(pinned);
    const tcp = await hub.listenTcp({ host: '127.0.0.1', port: 0 });
    const delivered = (agentId: string) => (): number => hub.metrics().eventsDelivered - (agentId === 'bench-evdev' ? evdevBase : 0);
    let evdevBase = 0;
    const agent = (agentId: string, extra: string[]): ChildProcess => {
      const child = spawn(node, [bundle, 'run', '--link', 'tcp', '--endpoint', `127.0.0.1:${tcp.port}`, '--token', TOKEN, '--agent-id', agentId, '--log-level', 'warn', ...extra], {
        cwd: scratch,
        env: {},
        stdio: ['pipe', 'ignore', 'inherit'],
      });
      children.push(child);
      return child;
    };
    const active = (agentId: string): boolean => hub.sessions().some((s) => s.agentId === agentId && s.state === 'active');

    // Baseline: no devices, events as JSON lines on stdin.
    const base = agent('bench-stdin', ['--capture', 'stdin-json']);
    await waitFor(() => active('bench-stdin'), 'the baseline agent');
    await new Promise((r) => setTimeout(r, 2_000));
    const baseIdle = await phase(base.pid ?? -1, delivered('bench-stdin'), undefined);
    let n = 0;
    const baseLoad = await phase(base.pid ?? -1, delivered('bench-stdin'), (count) => {
      let lines = '';
      for (let i = 0; i < count; i++, n++) lines += `${JSON.stringify({ kind: 'key', key: 'KEY_A', action: n % 2 === 0 ? 'down' : 'up', t: Date.now(), device: 'stdin' })}\n`;
      base.stdin?.write(lines);
    });
    base.kill('SIGTERM');

    // 16 FIFO devices.
    const devDir = path.join(scratch, 'input');
    fs.mkdirSync(devDir);
    const devicesFile = path.join(scratch, 'devices');
    await writeFile(devicesFile, Array.from({ length: DEVICES }, (_, i) => keyboardBlock(i)).join('\n'));
    for (let i = 0; i < DEVICES; i++) {
      const made = spawn('mkfifo', [path.join(devDir, `event${i}`)]);
      await new Promise((resolve) => made.once('exit', resolve));
    }
    evdevBase = hub.metrics().eventsDelivered;
    const evdev = agent('bench-evdev', ['--capture', 'linux-evdev', '--evdev-dir', devDir, '--evdev-devices-file', devicesFile]);
    for (let i = 0; i < DEVICES; i++) {
      const node = path.join(devDir, `event${i}`);
      await waitFor(() => {
        try {
          fds.push(fs.openSync(node, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
          return true;
        } catch {
          return false; // no reader yet
        }
      }, `the agent opening ${node}`);
    }
    await waitFor(() => active('bench-evdev'), 'the evdev agent');
    await new Promise((r) => setTimeout(r, 2_000));
    evdevBase = hub.metrics().eventsDelivered;
    const evIdle = await phase(evdev.pid ?? -1, delivered('bench-evdev'), undefined);
    evdevBase = hub.metrics().eventsDelivered;
    let m = 0;
    const evLoad = await phase(evdev.pid ?? -1, delivered('bench-evdev'), (count) => {
      for (let i = 0; i < count; i++, m++) {
        const sec = Math.floor(Date.now() / 1000);
        const bytes = encodeInputEvents([
          { sec, usec: 0, type: 1, code: 30, value: m % 2 === 0 ? 1 : 0 },
          { sec, usec: 0, type: 0, code: 0, value: 0 },
        ]);
        fs.writeSync(fds[m % DEVICES] ?? -1, bytes);
      }
    });

    const metrics = {
      devices: DEVICES,
      ratePerSecond: RATE,
      idleThreads: evIdle.threads,
      idleRssMB: evIdle.rssMb,
      idleCpuPercent: evIdle.cpuPercent,
      loadThreads: evLoad.threads,
      loadRssMB: evLoad.rssMb,
      loadCpuPercent: evLoad.cpuPercent,
      loadSent: evLoad.sent,
      loadDelivered: evLoad.delivered,
    };
    const baseline = {
      what: 'the same agent with the stdin-json capture (no devices), same rate as JSON lines',
      idleThreads: baseIdle.threads,
      idleRssMB: baseIdle.rssMb,
      idleCpuPercent: baseIdle.cpuPercent,
      loadThreads: baseLoad.threads,
      loadRssMB: baseLoad.rssMb,
      loadCpuPercent: baseLoad.cpuPercent,
      loadSent: baseLoad.sent,
      loadDelivered: baseLoad.delivered,
    };
    printTable([
      { figure: 'threads idle / at load', [`evdev, ${DEVICES} devices`]: `${evIdle.threads} / ${evLoad.threads}`, 'stdin-json, no devices': `${baseIdle.threads} / ${baseLoad.threads}` },
      { figure: 'RSS idle / at load', [`evdev, ${DEVICES} devices`]: `${evIdle.rssMb} / ${evLoad.rssMb} MB`, 'stdin-json, no devices': `${baseIdle.rssMb} / ${baseLoad.rssMb} MB` },
      { figure: `CPU idle (${SECONDS} s)`, [`evdev, ${DEVICES} devices`]: `${evIdle.cpuPercent} %`, 'stdin-json, no devices': `${baseIdle.cpuPercent} %` },
      { figure: `CPU at ${RATE} events/s`, [`evdev, ${DEVICES} devices`]: `${evLoad.cpuPercent} %`, 'stdin-json, no devices': `${baseLoad.cpuPercent} %` },
      { figure: 'events sent / delivered', [`evdev, ${DEVICES} devices`]: `${evLoad.sent} / ${evLoad.delivered}`, 'stdin-json, no devices': `${baseLoad.sent} / ${baseLoad.delivered}` },
    ]);
    return { name: 'capture', metrics, baseline, env: { ...baseEnv(), agentNode: pinned.version, seconds: SECONDS } };
  } finally {
    for (const fd of fds) fs.closeSync(fd);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await hub.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
