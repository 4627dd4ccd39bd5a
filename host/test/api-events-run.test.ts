/**
 * A real run's events over /api/v1/events: the run engine (runFleet) verifies
 * a short suite on a lab VM (QEMU TCG, the guest agent reporting to the
 * server's hub) and each run event is published into the server's event log
 * as the RunManager does ({kind:'run', runId, data: event}, framed by
 * run-status records). A subscriber filtered to the run sits behind a TCP
 * proxy that is cut at several steps (once by the server dropping its
 * sockets); it ends with every run event exactly once, in order, from
 * run-started to run-finished. The event producers run too: the lab agent's
 * session shows up as an `agent` connect and, when the VM goes, a disconnect.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiAgentEventDataSchema, RunEventSchema, type ApiEvent, type RunEvent } from '@atp/protocol';
import { startEventProducers } from '../src/api/v1/events/producers.js';
import { defaultCacheDir } from '../src/lab/paths.js';
import { runFleet, type RunResult } from '../src/run/index.js';
import { parseSuiteText, planSuite } from '../src/scenario/index.js';
import { labOpener } from '../src/targets/index.js';
import { requireBinary } from './support/binaries.js';
import { ResumingClient, startEventsRig, TcpProxy, until } from './api-events-support.js';

const SUITE = `
version: 1
name: events-short
target: { vm: lab, layout: us, screen: { width: 1024, height: 768 } }
observer: agent
defaults: { timeoutMs: 10000 }
steps:
  - name: words
    type: 'live events '
  - expect: {}
  - name: more words
    type: 'Resume 42'
  - expect: {}
  - name: arrows
    press: [left, right, home, end]
  - expect: {}
`;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
}, 120_000);

describe('a lab VM run followed over /api/v1/events', () => {
  it('reaches a subscriber that is cut mid-run with every run event once, in order, and announces the lab agent', async () => {
    requireBinary('qemu-system-x86_64', 'qemu-system-x86');
    requireBinary('qemu-ga', 'qemu-guest-agent');
    const rig = await startEventsRig();
    cleanups.push(() => rig.close());
    const producers = startEventProducers(rig.context, { intervalMs: 1000 });
    cleanups.push(() => producers.stop());
    const proxy = new TcpProxy(rig.server.port);
    await proxy.start();
    cleanups.push(() => proxy.close());
    const root = await mkdtemp(path.join(os.tmpdir(), 'atp-events-run-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));

    const runId = `events-run-${process.pid}`;
    const follower = new ResumingClient(() => `ws://127.0.0.1:${proxy.port}/api/v1/events`, rig.token, { kinds: ['run'], runId });
    cleanups.push(() => follower.stop());
    // Straight to the server (no proxy), but it resumes too: the server drops every socket at one of the cuts.
    const agents = new ResumingClient(() => rig.eventsUrl, rig.token, { kinds: ['agent'] });
    cleanups.push(() => agents.stop());
    await until(() => follower.connections === 1 && agents.connections === 1, 'the follower and the agent watcher to connect');

    const published: ApiEvent[] = [rig.events.publish({ kind: 'run', runId, data: { type: 'run-status', status: 'started' } })];
    const loaded = parseSuiteText(SUITE, 'events-short.yaml');
    const run = runFleet({
      suites: [{ loaded, plan: planSuite(loaded.scenario) }],
      targets: [labOpener('lab-events', { stateDir: path.join(root, 'lab-events'), cacheDir: defaultCacheDir(), killOnExit: true, readyTimeoutMs: 300_000 })],
      hub: rig.hub,
      runId,
      rounds: 2,
      pacing: { closedLoop: true },
      version: '0.0.0-test',
    });
    let result: RunResult;
    let cuts = 0;
    for (;;) {
      const next = await run.next();
      if (next.done === true) {
        result = next.value;
        break;
      }
      const event: RunEvent = next.value;
      published.push(rig.events.publish({ kind: 'run', runId, data: event }));
      // Cut the subscriber's link while the run goes on: at the first steps of each round.
      if (event.type === 'step-started' && event.step <= 2) {
        // Each cut lands on a live link: the follower has come back from the previous one.
        await until(() => follower.connections > cuts, `the follower to reconnect after cut ${cuts}`, 30_000);
        cuts++;
        if (cuts === 3) rig.server.events?.dropConnections();
        else await proxy.cut(cuts % 2 === 0 ? 200 : 0);
      }
    }
    published.push(rig.events.publish({ kind: 'run', runId, data: { type: 'run-status', status: 'finished' } }));
    const problems = result.report.suites.map((s) => `${s.target.vm} r${s.round}: ${s.verdict} ${s.error?.code ?? ''} ${s.findings.map((f) => `${f.kind}@${f.step}: ${f.message}`).join(' | ')}`);
    expect(result.exitCode, problems.join('\n')).toBe(0);
    expect(cuts).toBeGreaterThanOrEqual(4);

    const last = published.at(-1)?.index ?? 0;
    await until(() => follower.lastIndex === last, `the follower to reach the run's last event (index ${last})`, 60_000);
    expect(follower.events).toEqual(published);
    expect(follower.gaps).toEqual([]);
    expect(follower.connections).toBeGreaterThanOrEqual(cuts + 1);
    const runEvents = follower.events.slice(1, -1).map((e) => RunEventSchema.parse(e.data));
    expect(runEvents.map((e) => e.seq)).toEqual(runEvents.map((_, i) => i));
    expect(runEvents[0]?.type).toBe('run-started');
    expect(runEvents.at(-1)?.type).toBe('run-finished');

    // The lab agent's session came (when the VM booted) and went (when the run closed the VM).
    const agentData = (): ReturnType<typeof ApiAgentEventDataSchema.parse>[] => agents.events.map((e) => ApiAgentEventDataSchema.parse(e.data)).filter((d) => d.agentId === 'lab-events');
    await until(() => agentData().some((d) => d.type === 'disconnected'), 'the lab agent\'s disconnect event', 60_000);
    expect(agentData().map((d) => d.type)).toEqual(['connected', 'disconnected']);
    expect(agentData()[0]).toMatchObject({ transport: 'virtio' });
  }, 900_000);
});
