/** `atp-host lab …` without booting: exit codes, usage errors, state handling. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../src/cli/program.js';
import { statePaths } from '../src/lab/paths.js';
import { processStartTicks, writeLabState, type LabState } from '../src/lab/state.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-lab-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; output: string }> {
  let output = '';
  const io: CliIo = { out: (t) => void (output += t), err: (t) => void (output += t) };
  const code = await runCli(argv, io);
  return { code, output };
}

function stateFor(pid: number, pidStartTicks: string): LabState {
  const p = statePaths(dir);
  return {
    version: 1,
    pid,
    pidStartTicks,
    startedAt: new Date().toISOString(),
    token: 't',
    agentId: 'lab',
    accel: 'tcg',
    stateDir: dir,
    sockets: { qmp: p.qmp, qga: p.qga, agent: p.agent },
    console: p.console,
    qemuLog: p.qemuLog,
    image: { hash: 'h', kernel: 'k', initrd: 'i', kernelRelease: 'r', hasAgent: false },
    args: [],
  };
}

describe('atp-host lab', () => {
  it('exits 2 on usage errors: unknown command, bad option values', async () => {
    expect((await cli('lab', 'bogus')).code).toBe(2);
    const bad = await cli('lab', 'up', '--accel', 'warp', '--state-dir', dir);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('--accel expects one of tcg, kvm');
    expect((await cli('lab', 'up', '--memory', '-5', '--state-dir', dir)).code).toBe(2);
    expect((await cli('lab', 'record-fixtures', '--state-dir', dir)).code).toBe(2);
  });

  it('status and down with no VM: not running, exit 0', async () => {
    expect(await cli('lab', 'status', '--state-dir', dir)).toEqual({ code: 0, output: 'not running\n' });
    expect(await cli('lab', 'down', '--state-dir', dir)).toEqual({ code: 0, output: 'no lab VM was running\n' });
    expect(await cli('lab', 'console', '--state-dir', dir)).toEqual({ code: 0, output: '' });
  });

  it('never signals a pid whose start time differs (recycled pid): reports stale state and removes it', async () => {
    await writeLabState(statePaths(dir).stateFile, stateFor(process.pid, '1'));
    expect((await cli('lab', 'status', '--state-dir', dir)).output).toContain(`stale state for pid ${process.pid}`);
    expect(await cli('lab', 'down', '--state-dir', dir)).toEqual({ code: 0, output: 'no lab VM was running\n' });
    expect(processStartTicks(process.pid)).toBeDefined(); // we are still here
    expect((await cli('lab', 'status', '--state-dir', dir)).output).toBe('not running\n');
  });

  it('exits 3 with ATP_LAB_STATE on a corrupt state file', async () => {
    await writeFile(statePaths(dir).stateFile, '{"version": 1, "pid": "x"');
    const r = await cli('lab', 'status', '--state-dir', dir);
    expect(r.code).toBe(3);
    expect(r.output).toContain('ATP_LAB_STATE');
  });

  it('the atp-host binary entry sets the process exit code', async () => {
    const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
    const code = await new Promise<number | null>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', main, 'lab', 'bogus'], { timeout: 60_000 });
      child.once('exit', (c) => resolve(c));
    });
    expect(code).toBe(2);
  });
});
