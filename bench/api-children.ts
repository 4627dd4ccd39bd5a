/**
 * The server child of bench/api.bench.ts (run with ATP_API_BENCH_ROLE=server):
 * `atp-host serve`'s API (the run store with a seeded history, the event
 * producers, every route) on a hub of its own, and a bare Fastify server as
 * the baseline. Asked over IPC, it publishes run events into the server's
 * EventLog at a fixed rate (each stamped with the wall-clock time) and
 * reports its CPU, RSS and event-loop delay over that time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { round } from './support.js';

export const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type ToServer = { kind: 'fanout'; rate: number; seconds: number } | { kind: 'stop' };
export type FromServer =
  | { kind: 'ready'; apiPort: number; barePort: number; token: string; runsRoute: string }
  | { kind: 'fanout-done'; published: number; cpuPercent: number; rssMb: number; loopP99Ms: number; lastIndex: number };

async function serverMain(): Promise<void> {
  const send = (m: FromServer): void => void process.send?.(m);
  const { default: Fastify } = await import('fastify');
  const { AgentHub } = await import('../host/src/hub/index.js');
  const { EventLog, allRoutes, startServer } = await import('../host/src/api/index.js');
  const { attachRuns } = await import('../host/src/api/v1/runs/index.js');
  const { startEventProducers } = await import('../host/src/api/v1/events/index.js');
  const configDir = await mkdtemp(path.join(os.tmpdir(), 'atp-api-bench-'));
  const token = 'bench-api-token-0123456789';
  const hub = await AgentHub.create({ auth: { tokens: ['bench-hub-token'] } });
  const events = new EventLog();
  const context = { hub, location: { configDir }, events, log: (): void => undefined, services: new Map<string, unknown>() };
  let runsRoute = 'GET /api/v1/runs';
  try {
    const runs = attachRuns(context, { version: 'bench' });
    for (let i = 0; i < 20; i++) runs.store.create({ id: `bench-run-${i}`, options: { suites: ['smoke.yaml'], targets: { lab: { count: 1 } } }, status: 'passed' });
  } catch (error) {
    // The runs area is not usable here: measure another cheap authenticated route instead.
    runsRoute = `GET /api/v1/agents (runs unavailable: ${error instanceof Error ? error.message : String(error)})`;
  }
  const producers = startEventProducers(context);
  const server = await startServer({ hub, pageDir: path.join(configDir, 'no-page'), api: { token, context, routes: allRoutes() } });
  const bare = Fastify({ logger: false });
  bare.get('/bare', () => ({ runs: [], total: 0, limit: 100, offset: 0 }));
  bare.post('/bare', (request) => ({ ok: typeof request.body === 'object' }));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const address = bare.server.address();
  send({ kind: 'ready', apiPort: server.port, barePort: typeof address === 'object' && address !== null ? address.port : 0, token, runsRoute });

  process.on('message', (m: ToServer) => {
    if (m.kind === 'stop') {
      void (async () => {
        await producers.stop();
        await server.close();
        await bare.close();
        await hub.close();
        await rm(configDir, { recursive: true, force: true });
        process.exit(0);
      })();
      return;
    }
    void (async () => {
      const cpu0 = process.cpuUsage();
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const t0 = performance.now();
      let published = 0;
      let rss = 0;
      const total = m.rate * m.seconds;
      // Fixed rate: every 5 ms, publish what is due by now.
      while (published < total) {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * m.rate));
        for (; published < due; published++) events.publish({ kind: 'run', runId: 'bench', data: { n: published, sentAt: wallNow() } });
        rss = Math.max(rss, process.memoryUsage.rss());
        await sleep(5);
      }
      const cpu = process.cpuUsage(cpu0);
      const elapsed = performance.now() - t0;
      loop.disable();
      const loopP99Ms = round(Math.max(0, loop.percentile(99) / 1e6 - 5), 1);
      send({ kind: 'fanout-done', published, cpuPercent: round(((cpu.user + cpu.system) / 1000 / elapsed) * 100, 1), rssMb: Math.round(rss / 1048576), loopP99Ms, lastIndex: events.lastIndex });
    })();
  });
}

if (process.env.ATP_API_BENCH_ROLE === 'server') {
  serverMain().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
