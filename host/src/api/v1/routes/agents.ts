/**
 * /api/v1/agents: the sessions of the server's agent hub (guest agents and
 * web verifier pages) with, per session, its agent id and boot, transport
 * and remote address, when it connected and last spoke, when its last
 * observed events arrived (hub.lastEventAt), and the clock offset estimate
 * for its boot once a ping came back. Hub times are host-clock ms (epoch
 * based), shown as ISO time.
 */
import { ApiAgentListSchema } from '@atp/protocol';
import { defineRoute, type ApiRoute } from '../route.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function agentRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/agents',
      summary: "The hub's agent sessions: id, transport, remote, connected since, clock offset, last event",
      tag: 'agents',
      response: ApiAgentListSchema,
      handler: async (_request, { hub }) => {
        const agents = hub.sessions().map((s) => {
          const key = s.agentId;
          const clock = key === undefined ? undefined : hub.clock(key);
          const lastEvent = key === undefined ? undefined : hub.lastEventAt(key);
          return {
            sessionId: s.sessionId,
            ...(key === undefined ? {} : { agentId: key }),
            ...(s.helloAgentId === undefined || s.helloAgentId === key ? {} : { helloAgentId: s.helloAgentId }),
            ...(s.vmUuid === undefined ? {} : { vmUuid: s.vmUuid }),
            ...(s.bootId === undefined ? {} : { bootId: s.bootId }),
            state: s.state,
            transport: s.transport,
            remote: s.remote,
            connectedAt: iso(s.connectedAt),
            lastMessageAt: iso(s.lastMessageAt),
            ...(lastEvent === undefined ? {} : { lastEventAt: iso(lastEvent) }),
            ...(clock === undefined || clock.bootId !== s.bootId ? {} : { clock: { offsetMs: clock.offsetMs, uncertaintyMs: clock.uncertaintyMs, delayMs: clock.delayMs, samples: clock.samples } }),
          };
        });
        return { agents };
      },
    }),
  ];
}
