/**
 * The single-file agents for the cross-package tests (agent-sea, agent-wine) and
 * the agent bench: built once per input hash into the build cache
 * (ATP_BUILD_CACHE or ~/.cache/atp-agent-build), reused by every later run;
 * concurrent test files wait on the build's lock instead of building twice.
 */
import { execFile, spawn } from 'node:child_process';
import { AgentHub } from '../host/src/hub/index.js';
import type { TcpListener, WsListener } from '../host/src/hub/index.js';
import { buildAgentPackages } from '../guest-agent/packaging/build.js';
import type { AgentTarget } from '../guest-agent/packaging/build.js';

const built = new Map<AgentTarget, Promise<string>>();

/** The cached executable of `target` (built if needed; a cold build takes ~30 s per target here). */
export function agentExecutable(target: AgentTarget): Promise<string> {
  let p = built.get(target);
  if (p === undefined) {
    p = buildAgentPackages({ targets: [target], copyToOutDir: false }).then((m) => {
      const entry = m.packages[0];
      if (entry === undefined) throw new Error(`no ${target} package was built`);
      return entry.path;
    });
    built.set(target, p);
  }
  return p;
}

export interface TestHub {
  hub: AgentHub;
  tcp: TcpListener;
  ws: WsListener;
  close(): Promise<void>;
}

/** A real AgentHub on loopback TCP and WebSocket with one token. */
export async function startTestHub(token: string): Promise<TestHub> {
  const hub = await AgentHub.create({ auth: { tokens: [token] } });
  const tcp = await hub.listenTcp({ host: '127.0.0.1', port: 0 });
  const ws = await hub.listenWs({ host: '127.0.0.1', port: 0 });
  return { hub, tcp, ws, close: () => hub.close() };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with an argument array (no shell), killing it with SIGKILL after timeoutMs. */
export function runFile(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: options.cwd, env: options.env ?? {}, timeout: options.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null;
      resolve({ code, stdout, stderr });
    });
  });
}

export { spawn };
