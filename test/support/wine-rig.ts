/**
 * The closest this machine gets to a Windows desktop, for the Windows agent's
 * real-input tests: Xvfb on a free display (1024x768), a fresh wine prefix
 * (win10), wine's Notepad covering the whole screen and focused (wine hands X
 * input to its low-level hooks only while one of its windows has the focus, and
 * pointer motion only over its windows; there is no window manager, so size and
 * focus are set with xdotool and the size is checked), the win-x64 single-file agent
 * running `run --capture windows-hooks` against a real AgentHub over TCP, and
 * an XdotoolInjector for the display. stop() takes everything down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AgentHub } from '../../host/src/hub/index.js';
import { waitForAgentSession } from '../../host/src/scenario/index.js';
import { requireBinary } from '../../host/test/support/binaries.js';
import { agentExecutable, runFile } from '../agent-sea-build.js';
import { XdotoolInjector } from './x11-injector.js';

export const WINE_RIG_SCREEN = { width: 1024, height: 768 } as const;
const TOKEN = 'wine-rig-token';
const AGENT_ID = 'wine-rig';

export interface WineRig {
  hub: AgentHub;
  agentId: string;
  /** The X display, e.g. ':12'. */
  display: string;
  injector(): XdotoolInjector;
  /** What the agent wrote to stderr so far (its JSON log). */
  agentLog(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts Xvfb with -displayfd and resolves with the display it chose. */
function startXvfb(xvfb: string): Promise<{ child: ChildProcess; display: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(xvfb, ['-displayfd', '3', '-screen', '0', `${WINE_RIG_SCREEN.width}x${WINE_RIG_SCREEN.height}x24`, '-nolisten', 'tcp', '-noreset'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`Xvfb chose no display within 20 s: ${err.slice(-500)}`)), 20_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /^(\d+)\n/.exec(out);
      if (m?.[1] === undefined) return;
      clearTimeout(timer);
      resolve({ child, display: `:${m[1]}` });
    });
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`Xvfb exited (${String(code)}): ${err.slice(-500)}`)));
  });
}

async function xdo(xdotool: string, env: NodeJS.ProcessEnv, args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await runFile(xdotool, args, { env, timeoutMs });
  if (r.code !== 0) throw new Error(`xdotool ${args.join(' ')} failed (${String(r.code)}): ${r.stderr}`);
  return r.stdout.trim();
}

export async function startWineRig(): Promise<WineRig> {
  const xvfbPath = requireBinary('Xvfb', 'xvfb');
  const xdotool = requireBinary('xdotool', 'xdotool');
  const wine = requireBinary('wine', 'wine wine64');
  const winecfg = requireBinary('winecfg', 'wine wine64');
  const wineserver = requireBinary('wineserver', 'wine wine64');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-wine-rig-'));
  const children: ChildProcess[] = [];
  let hub: AgentHub | undefined;
  let env: NodeJS.ProcessEnv = {};
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (env['WINEPREFIX'] !== undefined) await runFile(wineserver, ['-k'], { env, timeoutMs: 30_000 });
    await hub?.close();
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    const x = await startXvfb(xvfbPath);
    children.push(x.child);
    env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: scratch, DISPLAY: x.display, WINEPREFIX: path.join(scratch, 'prefix'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
    const cfg = await runFile(winecfg, ['/v', 'win10'], { env, timeoutMs: 180_000 });
    if (cfg.code !== 0) throw new Error(`winecfg /v win10 failed (${String(cfg.code)}): ${cfg.stderr.slice(-2000)}`);

    children.push(spawn(wine, ['notepad'], { cwd: scratch, env, stdio: 'ignore' }));
    // Only once it is mapped: wine names the window before it maps it, and mapping puts it back at its
    // default place and size (4,23 721x519 here), which leaves the screen's corners to the root window,
    // where wine sees no pointer motion (seen: 6 of 8 windows sized before the map lost the size).
    const window = (await xdo(xdotool, env, ['search', '--sync', '--onlyvisible', '--limit', '1', '--name', 'Notepad'])).split('\n')[0] ?? '';
    await xdo(xdotool, env, ['windowmove', '--sync', window, '0', '0', 'windowsize', '--sync', window, String(WINE_RIG_SCREEN.width), String(WINE_RIG_SCREEN.height)]);
    await xdo(xdotool, env, ['windowfocus', '--sync', window]);
    const geometry = await xdo(xdotool, env, ['getwindowgeometry', '--shell', window]);
    const want = `X=0 Y=0 WIDTH=${WINE_RIG_SCREEN.width} HEIGHT=${WINE_RIG_SCREEN.height}`;
    const got = ['X', 'Y', 'WIDTH', 'HEIGHT'].map((k) => new RegExp(`^${k}=.*$`, 'm').exec(geometry)?.[0] ?? `${k}=?`).join(' ');
    if (got !== want) throw new Error(`Notepad (window ${window}) does not cover the screen, so pointer moves at its edges reach no wine window: ${got}, expected ${want}`);

    hub = await AgentHub.create({ auth: { tokens: [TOKEN] } });
    const tcp = await hub.listenTcp({ host: '127.0.0.1', port: 0 });
    const exe = path.join(scratch, 'atp-agent.exe');
    await copyFile(await agentExecutable('win-x64'), exe);
    // wine writing to a pipe fails with EBADF: the agent's output goes to files.
    const out = await open(path.join(scratch, 'agent.out'), 'w');
    const err = await open(path.join(scratch, 'agent.err'), 'w');
    const args = [exe, 'run', '--link', 'tcp', '--endpoint', `127.0.0.1:${tcp.port}`, '--token', TOKEN, '--agent-id', AGENT_ID, '--capture', 'windows-hooks'];
    children.push(spawn(wine, args, { cwd: scratch, env, stdio: ['ignore', out.fd, err.fd] }));
    await out.close();
    await err.close();
    await waitForAgentSession(hub, { agentId: AGENT_ID, timeoutMs: 120_000 });
    const ready = hub;
    const rigEnv = env;
    return {
      hub: ready,
      agentId: AGENT_ID,
      display: x.display,
      injector: () => new XdotoolInjector(xdotool, rigEnv, WINE_RIG_SCREEN),
      agentLog: () => readFile(path.join(scratch, 'agent.err'), 'utf8'),
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
