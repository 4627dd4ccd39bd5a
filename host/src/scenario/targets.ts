/**
 * Setting up what a suite runs against: the guest must be running (QEMU drops
 * input while paused, so a paused VM is continued), the observer's agent must
 * have a session in the hub, and the hub must reach the agent over the
 * endpoint the user named (`virtio:SOCKET`, `tcp:PORT`, `ws:PORT`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import type { AgentHub, SessionStatus } from '../hub/index.js';
import { cont, queryStatus, type QmpExecutor } from '../vm/qmp/index.js';

export type AgentEndpoint = { kind: 'virtio'; path: string } | { kind: 'tcp'; port: number; host?: string } | { kind: 'ws'; port: number; host?: string };

function port(text: string, spec: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1 || n > 65_535) {
    throw new AtpError('ATP_SCHEMA_INVALID', `--agent ${spec}: expected a port in 1..65535`, { details: { field: 'agent', value: spec } });
  }
  return n;
}

/** "virtio:/run/agent.sock", "tcp:7000", "tcp:0.0.0.0:7000", "ws:8080" → an endpoint; ATP_SCHEMA_INVALID otherwise. */
export function parseAgentEndpoint(spec: string): AgentEndpoint {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? '' : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  if (kind === 'virtio' && rest !== '') return { kind, path: rest };
  if ((kind === 'tcp' || kind === 'ws') && rest !== '') {
    const at = rest.lastIndexOf(':');
    if (at < 0) return { kind, port: port(rest, spec) };
    const host = rest.slice(0, at).replace(/^\[(.*)\]$/, '$1');
    return { kind, port: port(rest.slice(at + 1), spec), ...(host === '' ? {} : { host }) };
  }
  throw new AtpError('ATP_SCHEMA_INVALID', `--agent ${JSON.stringify(spec)}: expected virtio:SOCKET, tcp:PORT or ws:PORT`, { details: { field: 'agent', value: spec } });
}

/** Opens the hub side of the endpoint: connects to a chardev socket (retrying) or listens. Returns where, for humans. */
export async function attachAgentEndpoint(hub: AgentHub, endpoint: AgentEndpoint): Promise<string> {
  switch (endpoint.kind) {
    case 'virtio': {
      const client = await hub.connectVirtio({ path: endpoint.path, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 500 } });
      return client.describe();
    }
    case 'tcp':
      return (await hub.listenTcp({ port: endpoint.port, ...(endpoint.host === undefined ? {} : { host: endpoint.host }) })).describe();
    case 'ws':
      return (await hub.listenWs({ port: endpoint.port, ...(endpoint.host === undefined ? {} : { host: endpoint.host }) })).describe();
  }
}

/** QEMU must be running for input to arrive: `cont` a paused (or -S) VM. Resolves with the status before. */
export async function ensureGuestRunning(qmp: QmpExecutor, timeoutMs = 10_000): Promise<string> {
  const before = await queryStatus(qmp, { timeoutMs });
  if (before.running) return before.status;
  const resumable = ['paused', 'prelaunch', 'suspended', 'debug', 'inmigrate', 'postmigrate', 'finish-migrate', 'restore-vm', 'save-vm'];
  if (!resumable.includes(before.status)) {
    throw new AtpError('ATP_QMP_COMMAND', `the VM is ${before.status}, not running: input would be dropped`, { details: { status: before.status } });
  }
  await cont(qmp, { timeoutMs });
  const after = await queryStatus(qmp, { timeoutMs });
  if (!after.running) throw new AtpError('ATP_QMP_COMMAND', `the VM is still ${after.status} after cont`, { details: { status: after.status } });
  return before.status;
}

export interface WaitAgentOptions {
  /** The agent id to wait for; any agent when absent (the first active session wins). */
  agentId?: string;
  timeoutMs: number;
  /** Also wait (at most this long, within timeoutMs) for a clock-offset estimate. Default 3000. */
  clockWaitMs?: number;
  signal?: AbortSignal;
}

const activeFor = (sessions: SessionStatus[], agentId: string | undefined): SessionStatus | undefined =>
  sessions.find((s) => s.state === 'active' && s.agentId !== undefined && (agentId === undefined || s.agentId === agentId));

/** Resolves with the agent id once an agent has an active session (and, briefly, a clock estimate). */
export async function waitForAgentSession(hub: AgentHub, options: WaitAgentOptions): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  let session = activeFor(hub.sessions(), options.agentId);
  while (session?.agentId === undefined) {
    if (options.signal?.aborted) throw new AtpError('ATP_HUB_CLOSED', 'stopped while waiting for the agent');
    if (Date.now() > deadline) {
      const who = options.agentId === undefined ? 'no agent connected' : `agent ${options.agentId} did not connect`;
      throw new AtpError('ATP_HUB_HELLO_TIMEOUT', `${who} to the hub within ${options.timeoutMs} ms (is the agent running, with this token?)`, {
        details: { agentId: options.agentId, timeoutMs: options.timeoutMs, sessions: hub.sessions().length },
      });
    }
    await sleep(50);
    session = activeFor(hub.sessions(), options.agentId);
  }
  const agentId = session.agentId;
  const clockUntil = Math.min(deadline, Date.now() + (options.clockWaitMs ?? 3000));
  while (hub.clock(agentId) === undefined && Date.now() < clockUntil) await sleep(25);
  return agentId;
}
