/**
 * Abuse: an authenticated agent sending 100× its agreed message rate, against a
 * real hub over TCP. The agreed rate is the hub's messagesPerSecond (here 50/s,
 * burst 100 as the grace); the offender sends 5,000 messages/s and is cut with
 * ATP_HUB_LIMIT_RATE once its bucket is empty, counted, while an agent at
 * 20 events/s on another address keeps every event acknowledged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHub } from '../src/hub/index.js';
import { attack } from './hub-abuse-attack.js';
import { LegitAgent, logFigures, pct } from './hub-abuse-support.js';

const TOKEN = 'abuse-rate-token';
const RATE = 50;
const BURST = 100;
let hub: AgentHub | undefined;
const agents: LegitAgent[] = [];

afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await hub?.close();
  hub = undefined;
});

describe('hub abuse: an agent over its rate', () => {
  it('cuts an agent at 100× the agreed rate with ATP_HUB_LIMIT_RATE after its burst; a polite agent keeps its acks', async () => {
    const h = await AgentHub.create({ auth: { tokens: [TOKEN] }, limits: { messagesPerSecond: RATE, messageBurst: BURST } });
    hub = h;
    const { port } = await h.listenTcp();
    const legit = await LegitAgent.connect(port, '127.0.0.2');
    agents.push(legit);
    await legit.hello('legit', TOKEN);
    const [report] = await Promise.all([attack({ kind: 'rate', port, token: TOKEN, perSecond: RATE * 100, durationMs: 5000, address: '127.0.1.1' }), legit.sendEvents(60, 50)]);
    expect(report.codes).toEqual({ ATP_HUB_LIMIT_RATE: 1 });
    // The bucket (100) empties after ~20 ms at 5,000/s; a generous bound for a loaded machine.
    expect(report.cutMs.max).toBeLessThan(3000);
    // It got no more than its grace and what the rate refilled before the cut (plus what was in flight).
    const m = h.metrics();
    expect(m.rateLimited).toBe(1);
    expect(m.cuts.ATP_HUB_LIMIT_RATE).toBe(1);
    expect(m.eventsDelivered - 60).toBeLessThanOrEqual(BURST + (RATE * report.cutMs.max) / 1000 + 1);
    expect(legit.ackLatencies.length).toBe(60);
    logFigures('one agent at 100× its agreed rate (5,000 vs 50 msg/s)', { codes: report.codes, cutMs: report.cutMs.max, messagesSent: report.attempts, offenderEventsDelivered: m.eventsDelivered - 60, legitAckP99Ms: pct(legit.ackLatencies, 0.99) });
  }, 30_000);
});
