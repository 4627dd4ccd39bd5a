/** The agent's side of the hello / welcome exchange, and how host errors map to typed agent errors. */
import { AtpError, PROTOCOL_VERSION } from '@atp/protocol';
import type { AgentDecodeItem, AgentMessage, DeliveryCounters, ErrorBody, HelloBody, WelcomeBody } from '@atp/protocol';
import type { LinkConnection } from './types.js';

/** Everything in the hello but the delivery counters, which the sender supplies at each connect. */
export type AgentIdentity = Omit<HelloBody, 'lastSeq' | 'unacked' | 'overflowed'>;

/** Host error codes that mean "this token is not accepted". */
/** Refusals that retrying soon cannot fix (the token, or the VM the token or channel is bound to): long backoff. */
export const AUTH_ERROR_CODES: readonly string[] = ['ATP_HUB_AUTH', 'ATP_HUB_IDENTITY'];

/** A fixed identity, or a function read at each connect (the device list changes). */
export type IdentitySource = AgentIdentity | (() => AgentIdentity);

export function helloMessage(identity: IdentitySource, counters: DeliveryCounters): AgentMessage {
  return { v: PROTOCOL_VERSION, type: 'hello', body: { ...(typeof identity === 'function' ? identity() : identity), ...counters } };
}

/** A host `error` answering our hello → ATP_AGENT_AUTH (token refused) or ATP_AGENT_REFUSED. */
export function refusalError(body: ErrorBody, where: string): AtpError {
  const details = { hostCode: body.code, hostMessage: body.message, ...(body.details === undefined ? {} : { hostDetails: body.details }) };
  if (AUTH_ERROR_CODES.includes(body.code)) {
    return new AtpError('ATP_AGENT_AUTH', `${where} refused the agent's token (${body.code}: ${body.message}); check token / tokenFile`, { details });
  }
  return new AtpError('ATP_AGENT_REFUSED', `${where} refused the hello (${body.code}: ${body.message})`, { details });
}

export interface WelcomeWaitHooks {
  /** Messages other than welcome or error that arrive first (pings must be answered). */
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
