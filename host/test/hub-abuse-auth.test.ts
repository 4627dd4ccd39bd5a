/**
 * Abuse: a flood of unauthenticated hellos (bad tokens) from one address,
 * against a real hub over TCP. The first authFailureBurst are refused with
 * ATP_HUB_AUTH (token checked, refusal recorded); after that the address is
 * throttled: its connections are refused up front with ATP_HUB_AUTH_THROTTLED,
 * no token check and no refusal record, so the token checks stay bounded by
 * the burst plus the refill rate. A legitimate agent on another address is
 * served meanwhile, and the throttled address gets in again once the flood stops.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHub, MAX_REFUSALS_KEPT } from '../src/hub/index.js';
import { attack } from './hub-abuse-attack.js';
import { LegitAgent, logFigures, pct } from './hub-abuse-support.js';

const TOKEN = 'abuse-auth-token';
const BURST = 20;
const PER_SECOND = 5;
let hub: AgentHub | undefined;
const agents: LegitAgent[] = [];

afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await hub?.close();
  hub = undefined;
});

describe('hub abuse: unauthenticated hello flood', () => {
  it('refuses the burst with ATP_HUB_AUTH, then throttles the address (ATP_HUB_AUTH_THROTTLED) without token checks; others unaffected', async () => {
    const h = await AgentHub.create({ auth: { tokens: [TOKEN] }, limits: { authFailureBurst: BURST, authFailuresPerSecond: PER_SECOND } });
    hub = h;
    const { port } = await h.listenTcp();
    const legit = await LegitAgent.connect(port, '127.0.0.2');
    agents.push(legit);
    await legit.hello('legit', TOKEN);
    const t0 = Date.now();
    const [report] = await Promise.all([attack({ kind: 'bad-hello', port, durationMs: 3000, concurrency: 16, address: '127.0.1.1' }), legit.sendEvents(40, 50)]);
    const seconds = (Date.now() - t0) / 1000;
    const m = h.metrics();
    const auth = report.codes.ATP_HUB_AUTH ?? 0;
    const throttled = report.codes.ATP_HUB_AUTH_THROTTLED ?? 0;
    expect(auth + throttled).toBe(report.opened);
    // Token checks: the burst plus what refilled over the flood, plus hellos already in flight when it emptied.
    expect(auth).toBeGreaterThanOrEqual(BURST);
    expect(auth).toBeLessThanOrEqual(BURST + PER_SECOND * seconds + 16);
    expect(throttled).toBeGreaterThan(auth);
    expect(m.authFailures).toBe(auth);
    expect(m.authThrottled).toBe(throttled);
    expect(m.cuts.ATP_HUB_AUTH_THROTTLED).toBe(throttled);
    expect(h.refusals().length).toBeLessThanOrEqual(MAX_REFUSALS_KEPT);
    expect(report.cutMs.max).toBeLessThan(5000);
    expect(legit.ackLatencies.length).toBe(40);
    logFigures('bad-token hello flood (16 in parallel, one address)', { codes: report.codes, hellosPerSec: report.attemptsPerSec, tokenChecks: m.authFailures, cutMsMax: report.cutMs.max, legitAckP99Ms: pct(legit.ackLatencies, 0.99) });
    // A new agent on another address is welcome during the throttle...
    const other = await LegitAgent.connect(port, '127.0.0.3');
    agents.push(other);
    await other.hello('other', TOKEN);
    // ...and the throttled address gets back in once its budget refilled a little (1 / PER_SECOND s).
    await new Promise((r) => setTimeout(r, 1000 / PER_SECOND + 300));
    const back = await LegitAgent.connect(port, '127.0.1.1');
    agents.push(back);
    await back.hello('back', TOKEN);
    await back.sendEvents(3, 0);
  }, 30_000);
});
