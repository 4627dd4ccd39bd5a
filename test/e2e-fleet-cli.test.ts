/**
 * `atp-host verify` as a process over lab VMs (real QEMU TCG, the agent):
 *  - SIGINT mid-run stops every VM's injection, writes the partial report
 *    (every suite finished so far, the VMs 'aborted', stop reason 'signal'),
 *    exits 3 and leaves no QEMU behind;
 *  - `--duration` stops between rounds: the first round runs, none starts
 *    after the bound, the report says why.
 * Both boot their own VMs, at the same time.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '@atp/protocol';
import { requireBinary } from '../host/test/support/binaries.js';

const main = fileURLToPath(new URL('../host/src/cli/main.ts', import.meta.url));
let dir = '';
const pids: number[] = [];

const SUITE = [
  'version: 1',
  'name: fleet-cli',
  'target: { vm: lab, layout: us, screen: { width: 1024, height: 768 } }',
  'observer: agent',
  'defaults: { timeoutMs: 10000 }',
  'steps:',
  "  - type: 'signal test'",
  '  - expect: {}',
  '',
].join('\n');

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-fleet-cli-'));
  await writeFile(path.join(dir, 'suite.yaml'), SUITE);
});

afterAll(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 60_000);

/** The process state letter from /proc (R, S, D, T, Z, ...), or undefined when the pid is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Running or stopped, not exited: an exited QEMU the CLI did not reap before it exited is a zombie until init reaps it. */
function alive(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  err: string;
}

/** Runs the CLI; `onErr` sees stderr as it grows and may signal the child. */
function runCli(args: string[], onErr: (err: string, child: ReturnType<typeof spawn>) => void = () => undefined): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      for (const m of err.matchAll(/\(pid (\d+)\)/g)) if (!pids.includes(Number(m[1]))) pids.push(Number(m[1]));
      onErr(err, child);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, err }));
  });
}

describe('atp-host verify --lab --count as a process', () => {
  it.concurrent('SIGINT stops all VMs, writes the partial report, exits 3 and leaves no QEMU', async () => {
    const report = path.join(dir, 'sigint.json');
    let signalled = false;
    const run = await runCli(['verify', path.join(dir, 'suite.yaml'), '--lab', '--count', '2', '--concurrent', '2', '--loop', '1000', '--closed-loop', '4', '--report', `json:${report}`], (err, child) => {
      // Once both VMs have passed a round, interrupt (the loop would go on for 1000 rounds).
      if (!signalled && err.includes('lab-01 r1 fleet-cli PASS') && err.includes('lab-02 r1 fleet-cli PASS')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    expect(signalled, run.err).toBe(true);
    expect(run.err).toContain('SIGINT: stopping');
    expect(run.code, run.err).toBe(3);
    const parsed = parseReport(JSON.parse(await readFile(report, 'utf8')));
    expect(parsed.suites.length).toBeGreaterThanOrEqual(2);
    expect(parsed.suites.filter((s) => s.verdict === 'pass').length).toBeGreaterThanOrEqual(2);
    expect(parsed.fleet?.stopped?.reason).toBe('signal');
    expect(parsed.fleet?.vms.map((v) => v.outcome)).toEqual(['aborted', 'aborted']);
    // Both QEMUs were seen and both are gone.
    const mine = [...run.err.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(new Set(mine).size).toBe(2);
    for (const pid of mine) expect(alive(pid), `QEMU ${pid} left behind (state ${procState(pid) ?? 'gone'})`).toBe(false);
  }, 600_000);

  it.concurrent('--duration stops between rounds and says so', async () => {
    const report = path.join(dir, 'duration.json');
    const run = await runCli(['verify', path.join(dir, 'suite.yaml'), '--lab', '--duration', '1s', '--closed-loop', '4', '--report', `json:${report}`]);
    expect(run.code, run.err).toBe(0);
    const parsed = parseReport(JSON.parse(await readFile(report, 'utf8')));
    // The bound passed during round 1 (a boot alone takes longer): round 2 never started.
    expect(parsed.suites.map((s) => [s.round, s.verdict])).toEqual([[1, 'pass']]);
    expect(parsed.fleet?.stopped?.reason).toBe('duration');
    expect(parsed.fleet?.vms).toEqual([expect.objectContaining({ vm: 'lab', outcome: 'passed', rounds: 1 })]);
  }, 600_000);
});
