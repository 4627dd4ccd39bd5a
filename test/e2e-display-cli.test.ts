/**
 * `atp-host verify --lab --injector spice|vnc` as a process, the README's
 * command: the lab VM boots with SPICE and VNC servers on unix sockets in its
 * state dir, scenarios/smoke.yaml runs through the chosen display server, the
 * report says which injector carried the input. Injector flag mistakes are
 * usage errors (exit 2) before anything boots. One lab VM per verify run.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '@atp/protocol';
import { requireBinary } from '../host/test/support/binaries.js';
import { qemuProcessesFor } from './support/e2e-lab.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const main = path.join(repo, 'host/src/cli/main.ts');
let dir = '';

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-display-cli-'));
});

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

describe('atp-host verify --injector', () => {
  it('runs the smoke suite on the lab VM through SPICE (client mouse mode) and reports the injector; no QEMU is left', async () => {
    const report = path.join(dir, 'spice.json');
    const stateDir = path.join(dir, 'lab-state');
    const run = await runCli(['verify', path.join(repo, 'scenarios/smoke.yaml'), '--lab', '--state-dir', stateDir, '--injector', 'spice', '--closed-loop', '8', '--report', `json:${report}`]);
    expect(run.err).not.toMatch(/ATP_[A-Z_]+:/);
    const parsed = parseReport(JSON.parse(await readFile(report, 'utf8')));
    const suite = parsed.suites[0];
    expect(suite?.findings.map((f) => `${f.kind} at step ${f.step ?? '-'}: ${f.message}`)).toEqual([]);
    expect(run.code).toBe(0);
    expect(suite?.verdict).toBe('pass');
    expect(suite?.target.injector).toBe('spice');
    // SPICE input goes where QEMU routes it: the report names no QMP route.
    expect(suite?.target.inputDevice).toBeUndefined();
    expect(suite?.counts.matched).toBe(suite?.counts.expected);
    expect(qemuProcessesFor(stateDir)).toEqual([]);
  }, 600_000);

  it('refuses injector flag mistakes with exit 2 before booting anything', async () => {
    const suite = path.join(repo, 'scenarios/smoke.yaml');
    const bad = await runCli(['verify', suite, '--lab', '--injector', 'rdp']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--injector: expected qmp, spice or vnc, got "rdp"/);
    const mode = await runCli(['verify', suite, '--lab', '--injector', 'vnc', '--mouse-mode', 'server']);
    expect(mode.code).toBe(2);
    expect(mode.err).toMatch(/--mouse-mode: is a SPICE setting/);
    const mismatch = await runCli(['verify', suite, '--lab', '--injector', 'spice', '--display', 'vnc://127.0.0.1:5901']);
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toMatch(/--display: is a vnc URL but --injector is spice/);
    const pw = path.join(dir, 'pw');
    await writeFile(pw, 'secret-pw\n', { mode: 0o644 });
    const loose = await runCli(['verify', suite, '--lab', '--display', 'vnc://127.0.0.1:5901', '--display-password-file', pw]);
    expect(loose.code).toBe(2);
    expect(loose.err).toMatch(/chmod 600/);
    expect(loose.err).not.toContain('secret-pw');
  }, 120_000);
});
