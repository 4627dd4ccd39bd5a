/**
 * How a host `error` that answers a hello becomes a typed session error:
 * ATP_AGENT_AUTH for a refusal that retrying soon cannot fix (the token, or the
 * VM the token or channel is bound to: long backoff), ATP_AGENT_REFUSED for
 * anything else. Shared by the guest agent and the web verifier page.
 */
import { AtpError } from '../errors.js';
import type { ErrorBody } from '../agent-protocol.js';

/** Host error codes that mean "this token (or this identity) is not accepted". */
export const AUTH_ERROR_CODES: readonly string[] = ['ATP_HUB_AUTH', 'ATP_HUB_IDENTITY'];

/** Another peer with the same agent id took the session over. */
export const SUPERSEDED_CODE = 'ATP_HUB_SUPERSEDED';

export function refusalError(body: ErrorBody, where: string): AtpError {
  const details = { hostCode: body.code, hostMessage: body.message, ...(body.details === undefined ? {} : { hostDetails: body.details }) };
  if (AUTH_ERROR_CODES.includes(body.code)) {
    return new AtpError('ATP_AGENT_AUTH', `${where} refused the agent's token (${body.code}: ${body.message}); check token / tokenFile`, { details });
  }
  return new AtpError('ATP_AGENT_REFUSED', `${where} refused the hello (${body.code}: ${body.message})`, { details });
}
