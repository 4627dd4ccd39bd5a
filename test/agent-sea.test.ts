/**
 * The Linux x64 single-file agent (Node SEA, guest-agent/packaging) against a
 * real host AgentHub: it runs from an empty directory with an empty environment
 * (no Node, no node_modules), `selftest` completes the handshake over TCP and
 * WebSocket, and `run` delivers events fed through a FIFO (the stdin-json test
 * capture) to the hub, and the V8 flags of the SEA recipe are in force in the
 * executable. The build is cached by input hash (see agent-sea-build.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamCollector } from '../host/test/support/hub-collect.js';
import { requireBinary } from '../host/test/support/binaries.js';
import { SEA_EXEC_ARGV } from '../guest-agent/packaging/sea.js';
import { agentExecutable, runFile, spawn, startTestHub } from './agent-sea-build.js';
import type { TestHub } from './agent-sea-build.js';

const TOKEN = 'sea-test-token';
let exe: string;
let empty: string;
let hub: TestHub;
const children: ChildProcess[] = [];

beforeAll(async () => {
  exe = await agentExecutable('linux-x64');
  empty = await mkdtemp(path.join(os.tmpdir(), 'atp-sea-'));
  hub = await startTestHub(TOKEN);
}, 600_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await hub?.close();
  if (empty !== undefined) await rm(empty, { recursive: true, force: true });
});

describe('the linux-x64 single-file agent', () => {
  it('is one static-enough ELF that prints its version with no environment, from an empty directory', async () => {
    const file = requireBinary('file', 'file');
    const kind = await runFile(file, ['-b', exe], { env: { PATH: '/usr/bin:/bin' } });
    expect(kind.stdout).toMatch(/ELF 64-bit LSB .*x86-64/);
    const result = await runFile(exe, ['--version'], { cwd: empty, env: {} });
    expect(result).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it('runs with the V8 flags baked into its SEA config (execArgv): a 1 MiB semi-space', async () => {
    // A preload through NODE_OPTIONS (which a SEA honours) reports what the executable's own V8 runs with.
    const probe = path.join(empty, 'probe.cjs');
    const out = path.join(empty, 'probe.json');
    await writeFile(probe, `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ execArgv: process.execArgv, newSpace: require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size }));`);
    const result = await runFile(exe, ['--version'], { cwd: empty, env: { NODE_OPTIONS: `--require ${probe}` } });
    expect(result).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    const seen = JSON.parse(await readFile(out, 'utf8')) as { execArgv: string[]; newSpace: number };
    expect([...seen.execArgv].sort()).toEqual([...SEA_EXEC_ARGV].sort());
    expect(seen.newSpace).toBeLessThanOrEqual(1024 * 1024);
    await rm(probe);
    await rm(out);
  });

  it('selftest completes a handshake with the host hub over TCP and over WebSocket', async () => {
    for (const url of [`tcp://127.0.0.1:${hub.tcp.port}`, `ws://127.0.0.1:${hub.ws.port}/`]) {
      const result = await runFile(exe, ['selftest', '--hub', url, '--token', TOKEN, '--agent-id', 'sea-selftest'], { cwd: empty, env: {} });
      expect(result.stdout).toMatch(/^ok: capture linux-evdev: \d+ device\(s\).*; hub .* welcomed agent sea-selftest \(session /);
      expect(result.stdout.trim().split('\n')).toHaveLength(1);
      expect(result.code).toBe(0);
    }
  });

  it('selftest fails with one line and exit 1 for a wrong token', async () => {
    const result = await runFile(exe, ['selftest', '--hub', `tcp://127.0.0.1:${hub.tcp.port}`, '--token', 'wrong'], { cwd: empty, env: {} });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^fail: .*ATP_AGENT_AUTH/);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('run delivers FIFO-fed events to the hub through the binary', async () => {
    const mkfifo = requireBinary('mkfifo', 'coreutils');
    const fifo = path.join(empty, 'events.fifo');
    expect((await runFile(mkfifo, [fifo], { env: {} })).code).toBe(0);
    const stream = new StreamCollector(hub.hub.stream('sea-run'));
    // Open read-write so neither side blocks on open; the agent reads it as stdin.
    const handle = await open(fifo, 'r+');
    const child = spawn(exe, ['run', '--link', 'tcp', '--endpoint', `127.0.0.1:${hub.tcp.port}`, '--token', TOKEN, '--agent-id', 'sea-run', '--capture', 'stdin-json'], {
      cwd: empty,
      env: {},
      stdio: [handle.fd, 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const keys = ['KEY_A', 'KEY_B', 'KEY_ENTER'];
    for (const [i, key] of keys.entries()) await handle.write(`${JSON.stringify({ kind: 'key', key, action: 'down', t: 1000 + i, device: 'fifo' })}\n`);
    await stream.until((items) => items.filter((i) => i.kind === 'event').length >= keys.length, `3 events from the binary (agent stderr: ${stderr})`, 30_000);
    const events = stream.events('sea-run');
    expect(events.map((e) => e.event.kind === 'key' && e.event.key)).toEqual(keys);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    const connected = stream.of('connected')[0];
    expect(connected?.hello.captureBackends).toEqual(['stdin-json']);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await handle.close();
  });
});
