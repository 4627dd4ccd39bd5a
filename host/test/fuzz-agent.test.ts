/**
 * Hostile input from agents and pages (NDJSON over TCP/virtio-serial, WebSocket
 * frames): the fuzz targets of host/test/fuzz/targets-agent.ts with small run
 * counts; `npm run fuzz` runs the same targets for a fixed time budget each.
 */
import { describe, expect, it } from 'vitest';
import { parseAgentMessage } from '@atp/protocol';
import { assertTarget } from './fuzz/harness.js';
import { AGENT_VALUES, agentNdjsonTarget, agentWsTarget } from './fuzz/targets-agent.js';

describe('fuzz: agent frames', () => {
  it('starts from valid messages of every kind an agent sends', () => {
    for (const m of AGENT_VALUES) expect(() => parseAgentMessage(m, 'seed')).not.toThrow();
  });
  it('NDJSON: only typed, located rejections, bounded buffers, the fast path never accepts what zod refuses', () => assertTarget(agentNdjsonTarget, 200));
  it('WebSocket frames: only typed, located rejections, the fast path never accepts what zod refuses', () => assertTarget(agentWsTarget, 200));
});
