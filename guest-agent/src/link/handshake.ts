/**
 * The agent's side of the hello / welcome exchange for one-shot checks
 * (`atp-agent selftest`). The long-lived session runs the same handshake
 * through the shared session engine (protocol-schemas/src/session/), whose
 * refusal mapping (refusalError, AUTH_ERROR_CODES) is re-exported here.
 */
import { AtpError, PROTOCOL_VERSION, refusalError } from '@atp/protocol';
import type { AgentDecodeItem, AgentMessage, DeliveryCounters, ObserverIdentity, WelcomeBody } from '@atp/protocol';
import type { LinkConnection } from './types.js';

export { AUTH_ERROR_CODES, refusalError } from '@atp/protocol';

/** Everything in the hello but the delivery counters, which the sender supplies at each connect. */
export type AgentIdentity = ObserverIdentity;

/** A fixed identity, or a function read at each connect (the device list changes). */
export type IdentitySource = AgentIdentity | (() => AgentIdentity);

export function identityOf(identity: IdentitySource): AgentIdentity {
  return typeof identity === 'function' ? identity() : identity;
}

export function helloMessage(identity: IdentitySource, counters: DeliveryCounters): AgentMessage {
  return { v: PROTOCOL_VERSION, type: 'hello', body: { ...identityOf(identity), ...counters } };
}

export interface WelcomeWaitHooks {
  /** Messages other than welcome or error that arrive first. */
  onOther(message: AgentMessage): void;
  onBadFrame(error: AtpError): void;
}

/**
 * Reads until the welcome; rejects ATP_AGENT_AUTH / ATP_AGENT_REFUSED on a host
 * error, ATP_AGENT_TIMEOUT after timeoutMs (closing the connection), or the
 * connection's own down error.
 */
export async function awaitWelcome(
  conn: LinkConnection,
  iterator: AsyncIterator<AgentDecodeItem>,
  timeoutMs: number,
  hooks: WelcomeWaitHooks,
): Promise<WelcomeBody> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void conn.close();
  }, timeoutMs);
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) {
        if (timedOut) throw new AtpError('ATP_AGENT_TIMEOUT', `${conn.description} sent no welcome within ${timeoutMs} ms`, { details: { timeoutMs } });
        throw (await conn.down) ?? new AtpError('ATP_AGENT_DISCONNECTED', `${conn.description} closed before its welcome`);
      }
      const item = next.value;
      if (item.kind === 'error') {
        hooks.onBadFrame(item.error);
        continue;
      }
      const message = item.message;
      if (message.type === 'welcome') return message.body;
      if (message.type === 'error') throw refusalError(message.body, conn.description);
      hooks.onOther(message);
    }
  } finally {
    clearTimeout(timer);
  }
}
