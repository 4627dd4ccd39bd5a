/**
 * /api/v1/agents: the agent sessions of the server's hub (guest agents and
 * web verifier pages): who (agent id, boot), over what (transport, remote
 * address), since when, the clock offset estimate (guest − host) once a
 * ping came back, and when the last observed event arrived. Times are ISO.
 */
import { z } from 'zod';

export const ApiClockOffsetSchema = z.strictObject({
  /** Guest clock minus host clock, ms. */
  offsetMs: z.number(),
  /** The true offset lies within ± this, ms. */
  uncertaintyMs: z.number(),
  /** The smallest round trip among the samples, ms. */
  delayMs: z.number(),
  samples: z.number().int(),
});

export const ApiAgentSchema = z.strictObject({
  sessionId: z.string(),
  /** The session key (a binding's key, else the hello's agentId); absent before the hello. */
  agentId: z.string().optional(),
  /** The agentId the hello said, when it differs from the key. */
  helloAgentId: z.string().optional(),
  vmUuid: z.string().optional(),
  bootId: z.string().optional(),
  state: z.string(),
  transport: z.string(),
  remote: z.string(),
  connectedAt: z.string(),
  /** Any message (events, pongs, ...). */
  lastMessageAt: z.string(),
  /** The last batch of observed events; absent before the first. */
  lastEventAt: z.string().optional(),
  clock: ApiClockOffsetSchema.optional(),
});

export const ApiAgentListSchema = z.strictObject({ agents: z.array(ApiAgentSchema) });
