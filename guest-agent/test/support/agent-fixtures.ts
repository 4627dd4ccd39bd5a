/** Shared helpers for the agent's link and session tests. */
import { randomUUID } from 'node:crypto';
import type { UnsequencedEvent } from '@atp/protocol';
import { AgentSession } from '../../src/link/index.js';
import type { AgentSessionOptions, Link } from '../../src/link/index.js';

export function keyEvent(i: number): UnsequencedEvent {
  return { kind: 'key', key: 'KEY_A', action: i % 2 === 0 ? 'down' : 'up', t: 1_000 + i, device: 'event0' };
}

export function makeSession(link: Link, token = 'secret', extra: Partial<AgentSessionOptions> = {}): AgentSession {
  const bootId = `boot-${randomUUID()}`;
  return new AgentSession({
    link,
    bootId,
    identity: {
      agentId: 'test-agent',
      bootId,
      os: { platform: 'linux', release: '6.1', arch: 'x64', hostname: 'guest' },
      captureBackends: ['linux-evdev'],
      capabilities: ['events', 'ping'],
      version: '0.1.0',
      token,
    },
    backoff: { initialMs: 20, maxMs: 200 },
    welcomeTimeoutMs: 5_000,
    ...extra,
  });
}

/** Stops every session a test made, whatever happened. */
export class Sessions {
  private readonly list: AgentSession[] = [];

  add(session: AgentSession): AgentSession {
    this.list.push(session);
    return session;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list.splice(0).map((s) => s.stop(0)));
  }
}
