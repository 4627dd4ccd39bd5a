/**
 * The Windows x64 single-file agent (Node SEA) under wine64, against a real
 * host AgentHub: `selftest` completes a handshake over TCP and over WebSocket.
 *
 * What this proves: the .exe starts (Node 22 SEA, signature removed, blob
 * injected), writes its koffi.node asset next to itself and loads it, starts the
 * hook thread, installs and removes the low-level hooks, reads the session and
 * input desktop, and speaks the protocol over both transports.
 * The hooks observing real input are tested on an X display in
 * test/agent-wine-hooks.test.ts (the wine rig); this file needs no display.
 *
 * Wine quirks handled here: a fresh WINEPREFIX per run (winecfg /v win10),
 * WINEDEBUG=-all, and stdout sent to a FILE (a pipe gives EBADF).
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../host/test/support/binaries.js';
import { agentExecutable, runFile, startTestHub } from './agent-sea-build.js';
import type { TestHub } from './agent-sea-build.js';

const TOKEN = 'wine-test-token';
let wine: string;
let scratch: string;
let exe: string;
let env: NodeJS.ProcessEnv;
let hub: TestHub;

/** Runs the .exe under wine with stdout and stderr in files; returns both. */
async function runExe(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const outFile = path.join(scratch, 'stdout.txt');
  const errFile = path.join(scratch, 'stderr.txt');
  const out = await open(outFile, 'w');
  const err = await open(errFile, 'w');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(wine, [exe, ...args], { cwd: scratch, env, stdio: ['ignore', out.fd, err.fd] });
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.once('error', reject);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return { code, stdout: await readFile(outFile, 'utf8'), stderr: await readFile(errFile, 'utf8') };
  } finally {
    await out.close();
    await err.close();
  }
}

beforeAll(async () => {
  wine = requireBinary('wine', 'wine wine64');
  const winecfg = requireBinary('winecfg', 'wine wine64');
  scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-wine-'));
  env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: scratch, WINEPREFIX: path.join(scratch, 'prefix'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  const cfg = await runFile(winecfg, ['/v', 'win10'], { env, timeoutMs: 180_000 });
  if (cfg.code !== 0) throw new Error(`winecfg /v win10 failed (${cfg.code}): ${cfg.stderr.slice(-2000)}`);
  exe = path.join(scratch, 'atp-agent.exe');
  await copyFile(await agentExecutable('win-x64'), exe);
  hub = await startTestHub(TOKEN);
}, 900_000);

afterAll(async () => {
  await hub?.close();
  if (scratch === undefined) return;
  const wineserver = requireBinary('wineserver', 'wine wine64');
  await runFile(wineserver, ['-k'], { env, timeoutMs: 30_000 });
  await rm(scratch, { recursive: true, force: true });
}, 60_000);

describe('the win-x64 single-file agent under wine', () => {
  it('prints its version', async () => {
    const result = await runExe(['--version']);
    expect(result.stdout).toBe('0.1.0\n');
    expect(result.code).toBe(0);
  });

  it('selftest completes a handshake with the host hub over TCP and over WebSocket (hooks installed, not exercised)', async () => {
    for (const url of [`tcp://127.0.0.1:${hub.tcp.port}`, `ws://127.0.0.1:${hub.ws.port}/`]) {
      const result = await runExe(['selftest', '--hub', url, '--token', TOKEN, '--agent-id', 'wine-selftest']);
      expect(result.stdout, result.stderr.slice(-2000)).toMatch(/^ok: capture windows-hooks: .*; hub .* welcomed agent wine-selftest \(session /);
      expect(result.stdout).toMatch(/win-session:\d+/);
      expect(result.code).toBe(0);
    }
    // The koffi addon was written next to the executable under a content-hash name.
    expect((await readdir(scratch)).filter((f) => /^koffi-[0-9a-f]{16}\.node$/.test(f))).toHaveLength(1);
  });

  it('selftest exits 1 with one line when the hub refuses the token', async () => {
    const result = await runExe(['selftest', '--hub', `tcp://127.0.0.1:${hub.tcp.port}`, '--token', 'wrong']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^fail: .*ATP_AGENT_AUTH/);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });
});
