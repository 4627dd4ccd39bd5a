/**
 * The `atp-agent` binary as a process (run from source with tsx; @atp/protocol
 * resolves to its build, so `tsc -b` runs first, as `npm test` does): version,
 * configuration errors, a refused token logged clearly, and a graceful SIGTERM
 * that flushes held events and exits 0. Events come from the stdin-json testing aid.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TestHub, waitFor } from './support/test-hub.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const mainTs = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Agent {
  child: ChildProcessWithoutNullStreams;
  logs: Array<Record<string, unknown>>;
  stdout: () => string;
  exited: Promise<number | null>;
}

const agents: Agent[] = [];
const hubs: TestHub[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const a of agents.splice(0)) {
    if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
    await a.exited;
  }
  await Promise.all(hubs.splice(0).map((h) => h.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function startAgent(args: string[], env: Record<string, string> = {}): Agent {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let out = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ level: 'raw', msg: line });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const agent = { child, logs, stdout: () => out, exited };
  agents.push(agent);
  return agent;
}

const line = (i: number): string => `${JSON.stringify({ kind: 'key', key: 'KEY_B', action: 'down', t: 5_000 + i, device: 'event2' })}\n`;

describe('atp-agent', () => {
  it('prints its version', async () => {
    const agent = startAgent(['--version']);
    expect(await agent.exited).toBe(0);
    expect(agent.stdout().trim()).toBe('0.1.0');
  });

  it('exits 2 on a bad config file, naming the file and the field in a JSON log line', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-cli-'));
    dirs.push(dir);
    const config = path.join(dir, 'agent.yaml');
    await writeFile(config, 'token: t\nlink: tcp\nendpoint: 127.0.0.1:1\nbatchWindowMs: -4\n');
    const agent = startAgent(['run', '--config', config]);
    expect(await agent.exited).toBe(2);
    const error = agent.logs.find((l) => l['level'] === 'error');
    expect(error?.['code']).toBe('ATP_SCHEMA_INVALID');
    expect(String(error?.['error'])).toContain(`${config}: invalid agent config: batchWindowMs`);
  });

  it('logs a refused token clearly, keeps retrying, and still stops cleanly on SIGTERM', async () => {
    const hub = await TestHub.start({ token: 'right' });
    hubs.push(hub);
    const agent = startAgent(['run', '--link', 'tcp', '--endpoint', hub.tcpEndpoint, '--capture', 'stdin-json'], { ATP_AGENT_TOKEN: 'wrong' });
    await waitFor(() => agent.logs.some((l) => l['code'] === 'ATP_AGENT_AUTH'), 'the refusal in the log');
    const refusal = agent.logs.find((l) => l['code'] === 'ATP_AGENT_AUTH');
    expect(refusal).toMatchObject({ level: 'error', msg: expect.stringMatching(/refused the agent token/) });
    expect(refusal?.['retryInMs']).toBeGreaterThan(0);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });

  it('on SIGTERM flushes the events it still holds, waits for the acks and exits 0', async () => {
    const hub = await TestHub.start();
    hubs.push(hub);
    // A 60 s batch window: after the first batch, later events wait for the next window, or for SIGTERM.
    const agent = startAgent(
      ['run', '--link', 'tcp', '--endpoint', hub.tcpEndpoint, '--token', 'secret', '--capture', 'stdin-json', '--batch-window-ms', '60000', '--agent-id', 'cli-agent'],
      { ATP_AGENT_LOG_LEVEL: 'debug' },
    );
    await waitFor(() => hub.connections[0]?.welcome !== undefined, 'the agent to be welcomed', 30_000);
    const hello = hub.connections[0]?.hello;
    expect(hello).toMatchObject({ agentId: 'cli-agent', captureBackends: ['stdin-json'], lastSeq: null, unacked: 0, overflowed: 0 });
    agent.child.stdin.write(line(0));
    const bootId = hello?.bootId ?? '';
    await waitFor(() => hub.uniqueSeqs(bootId).length === 1, 'the first event');
    agent.child.stdin.end(Array.from({ length: 199 }, (_, i) => line(i + 1)).join(''));
    await waitFor(() => agent.logs.some((l) => l['msg'] === 'capture input ended'), 'the agent to read all of stdin');
    expect(agent.logs.find((l) => l['msg'] === 'capture input ended')?.['lines']).toBe(200);
    // Held by the batch window, not yet sent.
    expect(hub.uniqueSeqs(bootId)).toEqual([1]);

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(hub.uniqueSeqs(bootId)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(hub.events.get(bootId)?.[199]).toMatchObject({ kind: 'key', key: 'KEY_B', t: 5_199, device: 'event2' });
    expect(agent.logs.some((l) => l['msg'] === 'stopped; every event acknowledged' && l['lastSeq'] === 200)).toBe(true);
  });
});
