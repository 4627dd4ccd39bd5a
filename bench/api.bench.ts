/**
 * HTTP API bench (`npm run bench -- api`). The server runs in a child process
 * (bench/api-children.ts: `atp-host serve`'s API with the run store, the
 * event producers and every route, plus a bare Fastify server as the
 * baseline), so its CPU and RSS are its own; the load comes from this
 * process.
 *
 * Load generator: a fixed number of workers over node:http keep-alive
 * connections, each sending its next request when the last one's body has
 * been read (closed loop), for a fixed time after a warm-up, the routes of a
 * comparison taking turns in five blocks. The same client and concurrency hit
 * the API route and the bare route:
 *  - GET /api/v1/runs (bearer token; a seeded history of 20 runs) vs GET
 *    /bare, and GET /api/v1/metrics (a handler that returns a sample already
 *    taken: the API's own auth, headers and routing) to tell the two apart;
 *  - POST /api/v1/keyboard/send {vm, keys:['a']} on the lab guest as a
 *    libvirt domain (qemu:///system; each request opens the domain, sends
 *    the key through QMP and closes) vs POST /bare with the same body.
 *    Skipped, and said so, when libvirtd or the lab image is not available
 *    (or ATP_BENCH_API_NO_LAB=1).
 * Live events: 50 WebSocket clients subscribed to /api/v1/events, events
 * published into the server's EventLog at fixed rates; delivered events/s
 * (over all clients), lost (must be 0) and publish → client-receive delay
 * p50/p99 (both processes read the same wall clock, high resolution).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { wallNow, type FromServer, type ToServer } from './api-children.js';
import { baseEnv, printTable, quantile, round, type BenchResult } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.ATP_BENCH_API_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.ATP_BENCH_API_CONCURRENCY ?? 16);
const KEYBOARD_CONCURRENCY = 4;
const FANOUT_CLIENTS = 50;
const FANOUT_RATES = [200, 1000];
const loader = pathToFileURL(path.join(here, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- load generator

interface LoadSpec {
  label: string;
  port: number;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  concurrency: number;
}

interface LoadFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  /** One failing answer, to say why. */
  firstError?: string;
}

interface Tally {
  samples: number[];
  seconds: number;
  errors: number;
  firstError?: string;
}

/** `concurrency` closed-loop workers on one keep-alive agent for `seconds`; adds to `tally` unless it is a warm-up. */
async function drive(spec: LoadSpec, seconds: number, tally: Tally | undefined): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const headers = { ...spec.headers, ...(spec.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(spec.body)) }) };
  const once = (): Promise<{ ok: boolean; text: string }> =>
    new Promise((resolve) => {
      const request = http.request({ host: '127.0.0.1', port: spec.port, method: spec.method, path: spec.path, agent, headers }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (d: string) => (text += d));
        response.on('end', () => resolve({ ok: (response.statusCode ?? 0) < 300, text: `${response.statusCode ?? 0} ${text.slice(0, 300)}` }));
      });
      request.on('error', (error) => resolve({ ok: false, text: error.message }));
      request.end(spec.body);
    });
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (performance.now() < until) {
        const start = performance.now();
        const r = await once();
        if (tally === undefined) continue;
        if (r.ok) tally.samples.push(performance.now() - start);
        else {
          tally.errors++;
          tally.firstError ??= r.text;
        }
      }
    }),
  );
  if (tally !== undefined) tally.seconds += (performance.now() - t0) / 1000;
  agent.destroy();
}

/**
 * Each spec for `seconds` in all, in interleaved blocks (spec A, B, C, A, B, C, ...) after a warm-up of each, so
 * the load other work puts on a shared machine falls on every spec alike.
 */
async function interleaved(specs: readonly LoadSpec[], seconds: number, blocks = 5): Promise<LoadFigures[]> {
  for (const spec of specs) await drive(spec, 1, undefined);
  const tallies: Tally[] = specs.map(() => ({ samples: [], seconds: 0, errors: 0 }));
  for (let b = 0; b < blocks; b++) for (const [i, spec] of specs.entries()) await drive(spec, seconds / blocks, tallies[i]);
  return tallies.map((t) => ({
    rps: round(t.samples.length / t.seconds, 1),
    p50Ms: round(quantile(t.samples, 0.5)),
    p99Ms: round(quantile(t.samples, 0.99)),
    requests: t.samples.length,
    errors: t.errors,
    ...(t.firstError === undefined ? {} : { firstError: t.firstError }),
  }));
}

// ---------------------------------------------------------------- live events fan-out

interface FanoutFigures {
  rate: number;
  publishedPerSec: number;
  deliveredPerSec: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuPercent: number;
  serverRssMb: number;
  /** Event-loop delay p99 of the server, and CPU and loop delay of this (the clients') process, over the publishing. */
  serverLoopP99Ms: number;
  clientCpuPercent: number;
  clientLoopP99Ms: number;
}

async function fanout(port: number, token: string, rate: number, seconds: number, ask: (m: ToServer) => Promise<Extract<FromServer, { kind: 'fanout-done' }>>): Promise<FanoutFigures> {
  const delays: number[] = [];
  const received = new Array<number>(FANOUT_CLIENTS).fill(0);
  let lastAt = 0;
  const clients = await Promise.all(
    Array.from({ length: FANOUT_CLIENTS }, (_, i) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
        ws.on('message', (data: Buffer) => {
          const m = JSON.parse(data.toString('utf8')) as { type: string; lastIndex?: number; event?: { data: { sentAt?: number } } };
          if (m.type === 'ready') {
            ws.send(JSON.stringify({ type: 'subscribe', after: m.lastIndex, kinds: ['run'] }));
            resolve(ws);
          } else if (m.type === 'event' && typeof m.event?.data.sentAt === 'number') {
            const now = wallNow();
            delays.push(now - m.event.data.sentAt);
            received[i] = (received[i] ?? 0) + 1;
            lastAt = now;
          }
        });
        ws.once('error', reject);
      }),
    ),
  );
  await sleep(300);
  const t0 = wallNow();
  const cpu0 = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const done = await ask({ kind: 'fanout', rate, seconds });
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const clientCpuPercent = round(((cpu.user + cpu.system) / 1000 / (wallNow() - t0)) * 100, 1);
  const expected = done.published * FANOUT_CLIENTS;
  const deadline = Date.now() + 30_000;
  while (received.reduce((a, b) => a + b, 0) < expected && Date.now() < deadline) await sleep(20);
  const total = received.reduce((a, b) => a + b, 0);
  for (const ws of clients) ws.terminate();
  const elapsed = (Math.max(lastAt, t0) - t0) / 1000;
  return {
    rate,
    publishedPerSec: round(done.published / seconds, 1),
    deliveredPerSec: round(total / Math.max(elapsed, seconds), 0),
    lost: expected - total,
    p50Ms: round(quantile(delays, 0.5)),
    p99Ms: round(quantile(delays, 0.99)),
    serverCpuPercent: done.cpuPercent,
    serverRssMb: done.rssMb,
    serverLoopP99Ms: done.loopP99Ms,
    clientCpuPercent,
    clientLoopP99Ms: round(Math.max(0, loop.percentile(99) / 1e6 - 5), 1),
  };
}

// ---------------------------------------------------------------- the lab guest for keyboard/send

async function labDomain(): Promise<{ name: string; remove(): Promise<void> } | string> {
  try {
    const { defineLabDomain } = await import('../test/support/e2e-libvirt.js');
    const { qgaPing } = await import('../host/src/vm/qga/index.js');
    const vm = await defineLabDomain();
    // Measure on a settled guest: wait until its qemu-ga answers (the boot is over).
    const deadline = Date.now() + 300_000;
    for (;;) {
      try {
        await qgaPing(vm.client.qgaExecutor(vm.name), { timeoutMs: 2000 });
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          await vm.remove();
          return `the lab guest did not answer through qemu-ga within 300 s: ${error instanceof Error ? error.message : String(error)}`;
        }
        await sleep(500);
      }
    }
    return { name: vm.name, remove: () => vm.remove() };
  } catch (error) {
    return `no lab guest as a libvirt domain: ${error instanceof Error ? error.message : String(error)}`;
  }
}

// ---------------------------------------------------------------- run

export async function run(): Promise<BenchResult> {
  // ATP_BENCH_API_PROFILE=<dir> writes a V8 CPU profile of the server child there.
  const profile = process.env.ATP_BENCH_API_PROFILE;
  const execArgv = ['--import', loader, ...(profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`])];
  const child = fork(path.join(here, 'api-children.ts'), [], { execArgv, env: { ...process.env, ATP_API_BENCH_ROLE: 'server' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: FromServer[] = [];
  child.on('message', (m: FromServer) => inbox.push(m));
  const next = async <K extends FromServer['kind']>(kind: K, timeoutMs = 120_000): Promise<Extract<FromServer, { kind: K }>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = inbox.findIndex((m) => m.kind === kind);
      if (i !== -1) return inbox.splice(i, 1)[0] as Extract<FromServer, { kind: K }>;
      if (child.exitCode !== null) throw new Error(`the server child exited (${child.exitCode}) before '${kind}'`);
      if (Date.now() > deadline) throw new Error(`no '${kind}' from the server child within ${timeoutMs} ms`);
      await sleep(20);
    }
  };
  const ready = await next('ready');
  const auth = { authorization: `Bearer ${ready.token}` };
  const metrics: BenchResult['metrics'] = {};
  const baseline: BenchResult['baseline'] = {};
  const rows: Record<string, string | number>[] = [];
  const row = (what: string, f: LoadFigures, concurrency: number): void => {
    rows.push({ route: what, concurrency, 'req/s': f.rps, p50_ms: f.p50Ms, p99_ms: f.p99Ms, requests: f.requests, errors: f.errors });
    if (f.firstError !== undefined) console.log(`  ${what}: first error: ${f.firstError}`);
  };
  let lab: { name: string; remove(): Promise<void> } | string = 'not tried';
  try {
    const runsPath = ready.runsRoute.startsWith('GET /api/v1/runs') ? '/api/v1/runs' : '/api/v1/agents';
    const api = { port: ready.apiPort, headers: auth, concurrency: CONCURRENCY };
    const gets: LoadSpec[] = [
      { label: 'GET /bare (bare Fastify) [baseline]', port: ready.barePort, method: 'GET', path: '/bare', headers: {}, concurrency: CONCURRENCY },
      // The API's own cost on a handler that does nothing (auth, headers, a sample already taken): what /runs adds is the store.
      { ...api, label: 'GET /api/v1/metrics (API plumbing only)', method: 'GET', path: '/api/v1/metrics' },
      { ...api, label: ready.runsRoute, method: 'GET', path: runsPath },
    ];
    const getFigures = await interleaved(gets, SECONDS);
    for (const [i, f] of getFigures.entries()) row(gets[i]?.label ?? '', f, CONCURRENCY);
    const [bareGet, plumbing, runs] = getFigures;
    if (bareGet === undefined || plumbing === undefined || runs === undefined) throw new Error('missing load figures');
    Object.assign(metrics, { runs_rps: runs.rps, runs_p50Ms: runs.p50Ms, runs_p99Ms: runs.p99Ms, runs_errors: runs.errors, runs_route: ready.runsRoute });
    Object.assign(metrics, { metricsRoute_rps: plumbing.rps, metricsRoute_p50Ms: plumbing.p50Ms, metricsRoute_p99Ms: plumbing.p99Ms });
    Object.assign(baseline, { bareGet_rps: bareGet.rps, bareGet_p50Ms: bareGet.p50Ms, bareGet_p99Ms: bareGet.p99Ms });

    lab = process.env.ATP_BENCH_API_NO_LAB === '1' ? 'ATP_BENCH_API_NO_LAB=1' : await labDomain();
    if (typeof lab === 'string') {
      console.log(`keyboard/send skipped: ${lab}`);
      metrics['keyboard_skipped'] = lab;
    } else {
      const body = JSON.stringify({ vm: lab.name, keys: ['a'] });
      const posts: LoadSpec[] = [
        { label: 'POST /bare (bare Fastify, same body) [baseline]', port: ready.barePort, method: 'POST', path: '/bare', headers: {}, body, concurrency: KEYBOARD_CONCURRENCY },
        { label: 'POST /api/v1/keyboard/send (lab guest, libvirt, QMP)', port: ready.apiPort, method: 'POST', path: '/api/v1/keyboard/send', headers: auth, body, concurrency: KEYBOARD_CONCURRENCY },
      ];
      // A keystroke request takes about half a second: twice the time for a p99 over more than a handful of samples.
      const postFigures = await interleaved(posts, SECONDS * 2);
      for (const [i, f] of postFigures.entries()) row(posts[i]?.label ?? '', f, KEYBOARD_CONCURRENCY);
      const [barePost, keyboard] = postFigures;
      if (barePost === undefined || keyboard === undefined) throw new Error('missing load figures');
      Object.assign(metrics, { keyboard_rps: keyboard.rps, keyboard_p50Ms: keyboard.p50Ms, keyboard_p99Ms: keyboard.p99Ms, keyboard_errors: keyboard.errors });
      Object.assign(baseline, { barePost_rps: barePost.rps, barePost_p50Ms: barePost.p50Ms, barePost_p99Ms: barePost.p99Ms });
    }
    printTable(rows);

    const fanRows: Record<string, string | number>[] = [];
    for (const rate of FANOUT_RATES) {
      const f = await fanout(ready.apiPort, ready.token, rate, SECONDS, async (m) => {
        child.send(m);
        return next('fanout-done', (SECONDS + 60) * 1000);
      });
      fanRows.push({ clients: FANOUT_CLIENTS, 'published/s': f.publishedPerSec, 'delivered/s': f.deliveredPerSec, lost: f.lost, p50_ms: f.p50Ms, p99_ms: f.p99Ms, 'server cpu %': f.serverCpuPercent, 'server rss MB': f.serverRssMb, 'server loop p99 ms': f.serverLoopP99Ms, 'clients cpu %': f.clientCpuPercent, 'clients loop p99 ms': f.clientLoopP99Ms });
      const k = `fanout${rate}`;
      Object.assign(metrics, { [`${k}_deliveredPerSec`]: f.deliveredPerSec, [`${k}_lost`]: f.lost, [`${k}_p50Ms`]: f.p50Ms, [`${k}_p99Ms`]: f.p99Ms, [`${k}_serverCpuPercent`]: f.serverCpuPercent, [`${k}_serverRssMb`]: f.serverRssMb, [`${k}_serverLoopP99Ms`]: f.serverLoopP99Ms, [`${k}_clientCpuPercent`]: f.clientCpuPercent, [`${k}_clientLoopP99Ms`]: f.clientLoopP99Ms });
    }
    printTable(fanRows);
  } finally {
    if (typeof lab !== 'string') await lab.remove().catch(() => undefined);
    child.send({ kind: 'stop' } satisfies ToServer);
    await new Promise((r) => child.once('exit', r));
  }
  return {
    name: 'api',
    metrics,
    baseline,
    env: { ...baseEnv(), seconds: SECONDS, concurrency: CONCURRENCY, keyboardConcurrency: KEYBOARD_CONCURRENCY, fanoutClients: FANOUT_CLIENTS, loadGenerator: 'closed-loop node:http keep-alive workers (bench/api.bench.ts)' },
  };
}
