/**
 * A VM that is already running, given by its QMP unix socket and where its
 * agent reaches the hub (`virtio:SOCKET` the hub connects to, or a `tcp:PORT`
 * / `ws:PORT` listener): `atp-host verify --qmp SOCKET --agent ENDPOINT`.
 * A virtio channel is bound to the target's label; on a listener the first
 * agent presenting the run's token is taken, or `agentId` when given.
 */
import type { AgentHub } from '../hub/index.js';
import { attachAgentEndpoint, waitForAgentSession, type AgentEndpoint } from '../scenario/index.js';
import { QmpClient } from '../vm/qmp/index.js';
import { makeTarget, type Target, type TargetContext, type TargetOpener } from './target.js';

export interface QmpTargetOptions {
  /** The VM's QMP unix socket. */
  qmp: string;
  agent: AgentEndpoint;
  /** The agent to observe with (default: the first that connects, or the label on a virtio channel). */
  agentId?: string;
  /** How long to wait for the agent (default 120 s). */
  timeoutMs?: number;
}

export function qmpOpener(label: string, options: QmpTargetOptions): TargetOpener {
  return {
    label,
    async open(context: TargetContext): Promise<Target> {
      const started = Date.now();
      const hub: AgentHub = context.hub;
      const cleanups: (() => Promise<void>)[] = [];
      const close = async (): Promise<void> => {
        for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
      };
      try {
        const endpoint = options.agent;
        let agentId = options.agentId;
        if (endpoint.kind === 'virtio') {
          const channel = await hub.connectVirtio({ path: endpoint.path, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 500 }, bind: { key: label } });
          cleanups.push(() => channel.close());
          agentId = label;
          context.log(`waiting for the agent on ${channel.describe()}`);
        } else {
          context.log(`waiting for the agent on ${await attachAgentEndpoint(hub, endpoint)}`);
        }
        const qmp = await QmpClient.connect({ path: options.qmp }, { connectTimeoutMs: 10_000 });
        cleanups.push(() => qmp.close());
        const id = await waitForAgentSession(hub, { ...(agentId === undefined ? {} : { agentId }), timeoutMs: options.timeoutMs ?? 120_000, signal: context.signal });
        return makeTarget({ label, agentId: id, hub, qmp, openMs: Date.now() - started, close });
      } catch (error) {
        await close();
        throw error;
      }
    },
  };
}
