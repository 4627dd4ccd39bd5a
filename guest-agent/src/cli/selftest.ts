/**
 * `atp-agent selftest --hub tcp://HOST:PORT|ws://HOST:PORT/PATH --token T`:
 * proves an installed agent can work here. It loads this platform's capture
 * backend (Linux: the evdev devices it would read; Windows: installs and removes
 * the low-level hooks, and reads the session and input desktop), connects to the
 * hub, and completes a hello / welcome handshake. Prints one line, "ok: …" (exit
 * 0) or "fail: …" (exit 1); bad usage exits 2.
 *
 * The hello uses agent id "<agentId>.selftest" by default, so a selftest never
 * supersedes the running agent's own session on the hub.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { AtpError } from '@atp/protocol';
import { LinuxEvdevCapture, WindowsHooksCapture } from '../capture/index.js';
import type { Capture } from '../capture/index.js';
import { agentIdFromHostname } from '../config.js';
import { TcpLink, WsLink, awaitWelcome, helloMessage, parseHostPort } from '../link/index.js';
import type { Link } from '../link/index.js';
import { AGENT_VERSION } from '../version.js';

export const SELFTEST_CAPTURES = ['auto', 'linux-evdev', 'windows-hooks', 'none'] as const;
export type SelftestCapture = (typeof SELFTEST_CAPTURES)[number];

export interface SelftestOptions {
  hub: string;
  token: string;
  agentId?: string;
  /** 'auto' = this platform's backend; 'none' skips the capture check (say so in the result). */
  capture?: SelftestCapture;
  timeoutMs?: number;
}

export interface SelftestResult {
  ok: boolean;
  line: string;
}

/** tcp://host:port or ws(s)://… → a Link; throws ATP_AGENT_CONFIG. */
export function linkForHub(hub: string, timeoutMs: number): Link {
  if (hub.startsWith('tcp://')) return new TcpLink({ ...parseHostPort(hub.slice('tcp://'.length).replace(/\/$/, '')), connectTimeoutMs: timeoutMs });
  if (hub.startsWith('ws://') || hub.startsWith('wss://')) return new WsLink({ url: hub, connectTimeoutMs: timeoutMs });
  throw new AtpError('ATP_AGENT_CONFIG', `--hub: expected tcp://HOST:PORT, ws://… or wss://…, got ${JSON.stringify(hub)}`, { details: { field: 'hub' } });
}

function platformCapture(choice: SelftestCapture): Capture | undefined {
  if (choice === 'none') return undefined;
  if (choice === 'windows-hooks' || (choice === 'auto' && process.platform === 'win32')) return new WindowsHooksCapture();
  return new LinuxEvdevCapture();
}

const message = (error: unknown): string => (error instanceof AtpError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error));

/** Loads the capture backend, describes what it found, and stops it again. */
async function checkCapture(capture: Capture | undefined): Promise<{ summary: string; capabilities: string[] }> {
  if (capture === undefined) return { summary: 'capture not checked (--capture none)', capabilities: [] };
  try {
    await capture.start();
    const devices = capture.devices();
    const capabilities = capture.capabilities?.() ?? [];
    let summary: string;
    if (capture instanceof WindowsHooksCapture) {
      const s = capture.status;
      const hooks = [s?.keyboard === true ? 'keyboard' : '', s?.mouse === true ? 'mouse' : ''].filter((h) => h !== '').join('+');
      summary = `capture windows-hooks: ${hooks} hook(s) installed${s?.error === undefined ? '' : ` (${s.error})`}${capabilities.length > 0 ? `, ${capabilities.join(' ')}` : ''}`;
    } else {
      const kinds = devices.map((d) => d.kind).join(', ');
      summary = `capture ${capture.backend}: ${devices.length} device(s)${devices.length > 0 ? ` (${kinds})` : ''}`;
    }
    return { summary, capabilities };
  } finally {
    await capture.stop().catch(() => undefined);
  }
}

export async function runSelftest(options: SelftestOptions): Promise<SelftestResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let link: Link;
  try {
    link = linkForHub(options.hub, timeoutMs);
  } catch (error) {
    return { ok: false, line: `fail: ${message(error)}` };
  }
  const capture = platformCapture(options.capture ?? 'auto');
  let captured: { summary: string; capabilities: string[] };
  try {
    captured = await checkCapture(capture);
  } catch (error) {
    return { ok: false, line: `fail: capture ${capture?.backend ?? ''} did not start: ${message(error)}` };
  }
  const bootId = randomUUID();
  const agentId = options.agentId ?? `${agentIdFromHostname(os.hostname())}.selftest`;
  const started = Date.now();
  try {
    const conn = await link.connect();
    try {
      await conn.send(
        helloMessage(
          {
            agentId,
            bootId,
            os: { platform: process.platform, release: os.release(), arch: process.arch, hostname: os.hostname() },
            captureBackends: capture === undefined ? [] : [capture.backend],
            capabilities: ['selftest', ...captured.capabilities],
            version: AGENT_VERSION,
            token: options.token,
          },
          { lastSeq: null, unacked: 0, overflowed: 0 },
        ),
      );
      const welcome = await awaitWelcome(conn, conn.received[Symbol.asyncIterator](), timeoutMs, { onOther: () => undefined, onBadFrame: () => undefined });
      return { ok: true, line: `ok: ${captured.summary}; hub ${link.description} welcomed agent ${agentId} (session ${welcome.sessionId}, ${Date.now() - started} ms)` };
    } finally {
      await conn.close();
    }
  } catch (error) {
    return { ok: false, line: `fail: ${captured.summary}; hub ${link.description}: ${message(error)}` };
  }
}
