/**
 * A desk pool through the OCloudView simulator on this machine's libvirt,
 * phase by phase: create a pool of N clones of the lab template (the
 * platform's event), start them all and wait until the platform says running,
 * verify scenarios/smoke.yaml on every VM concurrently through `verify
 * --platform`'s path (targets/platform.ts → libvirt targets → run engine; the
 * time includes each agent connecting), shut them down (force) and delete the
 * pool. ATP_BENCH_VDI_POOL=N (default 10).
 *
 * Client overhead, baseline in the same run: the same GET (/ocloud/v1/host/all,
 * with the session token) through OCloudClient (URL building, envelope, zod)
 * and as a bare fetch of that URL, 300 calls each, median and p99.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentHub } from '../host/src/hub/index.js';
import { runToEnd } from '../host/src/run/index.js';
import { loadSuite, planSuite } from '../host/src/scenario/index.js';
import { platformTargets } from '../host/src/targets/index.js';
import { createPoolAndWait, OCloudClient, powerAndWait, type VdiCallLog } from '../host/src/vdi/index.js';
import { md5Hex } from '../host/src/vdi/http.js';
import { startSimulator } from '../host/src/vdi-sim/index.js';
import { defineSimTemplate } from '../host/test/support/vdi-sim-lab.js';
import { baseEnv, nowMs, printTable, round, stats, timeEach, type BenchResult } from './support.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const PASSWORD = randomBytes(8).toString('hex');
/** The lab template's agents present this token (host/test/support/vdi-sim-lab.ts). */
const TEMPLATE_TOKEN = 'vdi-sim-test';

async function timed<T>(phases: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = nowMs();
  try {
    return await fn();
  } finally {
    phases[name] = round((nowMs() - t0) / 1000, 1);
  }
}

export async function run(): Promise<BenchResult> {
  const n = Number(process.env.ATP_BENCH_VDI_POOL ?? 10);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-bench-vdi-'));
  const template = await defineSimTemplate({ boot: true });
  const sim = await startSimulator({ models: [template.name], stateDir: path.join(dir, 'sim'), seed: { admin: { username: 'admin', password: PASSWORD }, ous: [{ ou: 'atp', distinguishedName: 'OU=atp,DC=atp' }], users: [] } });
  const calls: VdiCallLog[] = [];
  const client = new OCloudClient({ baseUrl: sim.url, username: 'admin', password: PASSWORD, log: (e) => calls.push(e) });
  const phases: Record<string, number> = {};
  const metrics: Record<string, number | string> = {};
  const baseline: Record<string, number | string> = {};
  const pool = `bench-${randomBytes(3).toString('hex')}`;
  try {
    const model = (await client.models()).find((m) => m.name === template.name);
    if (model === undefined) throw new Error(`the simulator does not offer ${template.name} as a model`);
    const created = await timed(phases, 'createS', () => createPoolAndWait(client, { name: pool, modelId: model.id, amount: n, domainPrefix: pool, type: 0 }, { deadlineMs: 600_000 }));
    const ids = created.domains.map((d) => d.id);
    const started = await timed(phases, 'startToRunningS', () => powerAndWait(client, 'start', ids, { deadlineMs: 900_000, pollMs: 500 }));
    const notRunning = started.filter((o) => !o.ok).length;

    const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
    // The clones' agents present the template's token: the hub accepts it (each session is bound to its domain's channel).
    const hub = await AgentHub.create({ auth: { tokens: [TEMPLATE_TOKEN] } });
    let passed = 0;
    let defects = 0;
    try {
      const report = await timed(phases, 'verifyS', async () => {
        const found = await platformTargets(client, { name: 'sim', url: sim.url, username: 'admin', password: { kind: 'env', name: 'UNUSED' }, timeoutMs: undefined, hosts: {} }, { pool, token: TEMPLATE_TOKEN, timeoutMs: 600_000 });
        const run = await runToEnd({ suites: [{ loaded, plan: planSuite(loaded.scenario) }], targets: found.openers, hub, concurrency: n, pacing: { closedLoop: 4 }, version: 'bench', log: () => undefined }, (e) => {
          if (e.type === 'target-finished' && e.error !== undefined) console.error(`vdi bench: ${e.target}: ${e.error.code}: ${e.error.message.split('\n')[0] ?? ''}`);
          if (e.type === 'suite-finished' && e.verdict !== 'pass') console.error(`vdi bench: ${e.target}: ${e.verdict}, ${e.defects} defects`);
        });
        return run.report;
      });
      passed = report.fleet?.passed ?? 0;
      defects = (report.fleet?.vms ?? []).reduce((a, v) => a + v.defects, 0);
    } finally {
      await hub.close();
    }
    await timed(phases, 'shutdownS', () => powerAndWait(client, 'close', ids, { deadlineMs: 300_000, force: true, pollMs: 500 }));
    await timed(phases, 'deleteS', async () => {
      await client.deleteDomains(ids);
      await client.deletePool(created.pool.id);
    });
    Object.assign(metrics, { poolSize: n, startedNotRunning: notRunning, verifiedPassed: passed, defects, ...phases });

    // Client overhead vs a bare request to the same server, same token.
    await client.login();
    const token = await bareLogin(sim.url);
    const url = `${sim.url}/ocloud/v1/host/all`;
    await timeEach(20, () => client.hosts());
    const viaClient = stats(await timeEach(300, () => client.hosts()));
    const bare = stats(await timeEach(300, async () => (await fetch(url, { headers: { Token: token } })).json()));
    Object.assign(metrics, { clientCallMedMs: round(viaClient.median, 3), clientCallP99Ms: round(viaClient.p99, 3) });
    Object.assign(baseline, { bareCallMedMs: round(bare.median, 3), bareCallP99Ms: round(bare.p99, 3) });
  } finally {
    await sim.close();
    await template.remove();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`\nvdi: a pool of ${n} through the simulator (real libvirt, TCG guests), phases in seconds; one GET through the client vs bare fetch`);
  printTable([{ ...metrics, ...baseline } as Record<string, number>]);
  metrics['httpCalls'] = calls.length;
  return { name: 'vdi', metrics, baseline, env: { ...baseEnv(), pacing: 'closed loop, 4 in flight' } };
}

async function bareLogin(base: string): Promise<string> {
  const r = await fetch(`${base}/ocloud/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: md5Hex(PASSWORD), client: '' }) });
  const body = (await r.json()) as { data?: { token?: string } };
  return body.data?.token ?? '';
}
