/**
 * Token check for hello: tokens are configured per hub, optionally per agent id
 * (an agent id with its own list accepts only those). Compared in constant time
 * over SHA-256 digests, so neither the content nor the length of a configured
 * token leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AtpError } from '@atp/protocol';

export interface HubAuthOptions {
  /** Tokens any agent may present. */
  tokens?: readonly string[];
  /** Tokens for specific agent ids; such an agent may present only these. */
  agentTokens?: Readonly<Record<string, readonly string[]>>;
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export class TokenChecker {
  private readonly shared: Buffer[];
  private readonly perAgent = new Map<string, Buffer[]>();

  constructor(options: HubAuthOptions) {
    this.shared = (options.tokens ?? []).map(digest);
    for (const [agentId, tokens] of Object.entries(options.agentTokens ?? {})) this.perAgent.set(agentId, tokens.map(digest));
    const any = this.shared.length > 0 || [...this.perAgent.values()].some((t) => t.length > 0);
    if (!any) throw new AtpError('ATP_SCHEMA_INVALID', 'the hub needs at least one token (auth.tokens or auth.agentTokens)');
    for (const t of [...(options.tokens ?? []), ...Object.values(options.agentTokens ?? {}).flat()]) {
      if (t.length === 0) throw new AtpError('ATP_SCHEMA_INVALID', 'hub tokens must not be empty');
    }
  }

  /** Whether the token is configured at all (hub-wide or for some agent id); bindings must not reuse one. */
  knows(token: string): boolean {
    const presented = digest(token);
    return [this.shared, ...this.perAgent.values()].some((list) => list.some((c) => timingSafeEqual(c, presented)));
  }

  accepts(agentId: string, token: string): boolean {
    const presented = digest(token);
    const candidates = this.perAgent.get(agentId) ?? this.shared;
    let ok = false;
    // Compare against every candidate so the time does not depend on which one matched.
    for (const c of candidates) ok = timingSafeEqual(c, presented) || ok;
    return ok;
  }
}
