/**
 * Runs through the HTTP API end to end on lab VMs (real QEMU TCG, the guest
 * agent), with a real server and the RunManager as `atp-host serve` has them:
 *  - POST /api/v1/runs with scenarios/smoke.yaml on one lab VM (closed-loop
 *    pacing), polled to its verdict; the report as JSON, JUnit and HTML; the
 *    stored run events; the live run events in the server's event log; then a
 *    new server on the same config dir finds the run with its report, and so
 *    does `atp-host runs list|show|export` as a process;
 *  - a running run cancelled: status cancelled, the lab VM's QEMU gone, the
 *    partial report stored; 409 for deleting it while it ran and for
 *    cancelling it again; deleted afterwards (404);
 *  - a run a crashed server left running is interrupted when a server starts;
 *  - bad suites: 400 naming file:line:column before anything boots.
 * The two VM tests run one after the other (the host has two cores).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport, parseRunEvent, type ApiRunDetail, type ApiRunSummary, type RunEvent } from '@atp/protocol';
import { RunStore } from '../src/history/index.js';
import { explain, errorOf } from './api-areas-support.js';
import { loggedPids, pollRun, runCli, startRunsRig, type RunsRig } from './api-runs-support.js';
import { finishedRun } from './history-fixture.js';
import { requireBinary } from './support/binaries.js';

const ACTIVE = ['queued', 'running', 'cancelling'];
let root = '';
let suiteDir = '';
const rigs: RunsRig[] = [];

const SHORT = `version: 1
name: short-loop
target: { vm: lab, layout: us, screen: { width: 1024, height: 768 } }
observer: agent
defaults: { timeoutMs: 10000 }
steps:
  - type: 'cancel me '
  - expect: {}
`;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'atp-api-runs-'));
  suiteDir = path.join(root, 'suites');
  await mkdir(suiteDir);
  await writeFile(path.join(root, 'outside.yaml'), SHORT);
  await symlink(path.join(root, 'outside.yaml'), path.join(suiteDir, 'link.yaml'));
  await writeFile(path.join(suiteDir, 'broken.yaml'), 'version: 1\nname: broken\ntarget: { vm: lab, screen: { width: 1024, height: 768 } }\nobserver: agent\nsteps:\n  - press: [ctrl+nosuchkey]\n');
});

afterAll(async () => {
  for (const rig of rigs.splice(0)) await rig.close().catch(() => undefined);
  if (root !== '') await rm(root, { recursive: true, force: true });
}, 180_000);

async function rigOn(configDir: string): Promise<RunsRig> {
  const rig = await startRunsRig(configDir, [suiteDir]);
  rigs.push(rig);
  return rig;
}

async function closeRig(rig: RunsRig): Promise<void> {
  rigs.splice(rigs.indexOf(rig), 1);
  await rig.close();
}

/** Live QEMU (not a zombie) for this pid? */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('runs over the HTTP API', () => {
  it('runs smoke.yaml on a lab VM to its verdict, serves its reports, and keeps it across a restart', async () => {
    requireBinary('qemu-system-x86_64', 'qemu-system-x86');
    requireBinary('qemu-ga', 'qemu-guest-agent');
    const configDir = path.join(root, 'config-smoke');
    const rig = await rigOn(configDir);
    const created = await rig.call('POST', '/api/v1/runs', { body: { suites: ['smoke.yaml'], targets: { lab: {} }, pacing: { closedLoop: true } } });
    expect(created.status, explain(created)).toBe(201);
    const { id, status } = created.json as { id: string; status: string };
    expect(status).toBe('running');
    expect(existsSync(path.join(configDir, 'runs.db'))).toBe(true);

    const detail = await pollRun(rig, id, (d) => !ACTIVE.includes(d.status), 'the smoke run to reach its verdict', 900_000);
    expect(detail.status, JSON.stringify(detail)).toBe('passed');
    expect(detail).toMatchObject({ exitCode: 0, targets: 'lab', suites: ['smoke.yaml'], hasReport: true, vms: { total: 1, passed: 1 } });
    expect(detail.progress).toEqual([expect.objectContaining({ vm: 'lab', phase: 'passed', suitesDone: 1, rounds: 1 })]);
    expect(detail.progress[0]?.keys).toBeGreaterThan(100);
    expect(detail.fleet?.vms[0]).toMatchObject({ vm: 'lab', outcome: 'passed' });

    const json = await rig.call('GET', `/api/v1/runs/${id}/report`);
    expect(json.status, explain(json)).toBe(200);
    const report = parseReport(json.json, 'GET report');
    expect(report.suites.map((s) => [s.name, s.verdict])).toEqual([['smoke', 'pass']]);
    const xml = await rig.call('GET', `/api/v1/runs/${id}/report.xml`);
    expect(xml.status, explain(xml)).toBe(200);
    expect(xml.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(xml.text).toMatch(/^<\?xml/);
    expect(xml.text).toContain('<testsuites');
    expect(xml.text).toMatch(/<testsuite [^>]*name="lab"/);
    expect(xml.text).toMatch(/<testcase [^>]*name="smoke"/);
    const html = await rig.call('GET', `/api/v1/runs/${id}/report.html`);
    expect(html.status, explain(html)).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.text.toLowerCase()).toContain('<!doctype html');
    expect(html.text).toContain(id);
    expect(html.text).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);

    // The stored run events: from run-started to run-finished, each seq once; the live log carried the same.
    const stored = await rig.call('GET', `/api/v1/runs/${id}/events`);
    expect(stored.status, explain(stored)).toBe(200);
    const events = (stored.json as { events: unknown[] }).events.map((e) => parseRunEvent(e));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]?.type).toBe('run-started');
    expect(events.at(-1)?.type).toBe('run-finished');
    const paged = await rig.call('GET', `/api/v1/runs/${id}/events?after=2&limit=3`);
    expect((paged.json as { events: RunEvent[]; next?: number }).events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect((paged.json as { next?: number }).next).toBe(5);
    const live = rig.context.events.since(0).filter((e) => e.kind === 'run' && e.runId === id);
    const liveStatuses = live.filter((e) => e.data['type'] === 'run-status').map((e) => e.data['status']);
    expect(liveStatuses).toEqual(['queued', 'running', 'passed']);
    expect(live.filter((e) => e.data['type'] !== 'run-status').map((e) => parseRunEvent(e.data))).toEqual(events);

    // A new server on the same config dir has the run in its history.
    await closeRig(rig);
    const again = await rigOn(configDir);
    const list = await again.call('GET', '/api/v1/runs');
    expect(list.status, explain(list)).toBe(200);
    const runs = (list.json as { runs: ApiRunSummary[]; total: number }).runs;
    expect(runs.find((r) => r.id === id)).toMatchObject({ status: 'passed', hasReport: true, exitCode: 0 });
    const reread = await again.call('GET', `/api/v1/runs/${id}/report`);
    expect(reread.json).toEqual(json.json);
    const detailAgain = (await again.call('GET', `/api/v1/runs/${id}`)).json as ApiRunDetail;
    expect(detailAgain.progress).toEqual(detail.progress);

    // The CLI reads the same store while that server runs.
    const cliList = await runCli(['runs', 'list', '--json', '--config-dir', configDir]);
    expect(cliList.code, cliList.err).toBe(0);
    expect((JSON.parse(cliList.out) as { runs: ApiRunSummary[] }).runs.find((r) => r.id === id)).toMatchObject({ status: 'passed', hasReport: true });
    const table = await runCli(['runs', 'list', '--config-dir', configDir]);
    expect(table.out).toMatch(new RegExp(`^${id}\\s+passed\\s`, 'm'));
    const show = await runCli(['runs', 'show', id.slice(0, 8), '--config-dir', configDir]);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toContain(`run ${id}`);
    expect(show.out).toMatch(/^lab\s+passed/m);
    const junit = path.join(root, 'smoke.xml');
    const exported = await runCli(['runs', 'export', id, '--format', 'junit', '--out', junit, '--config-dir', configDir]);
    expect(exported.code, exported.err).toBe(0);
    expect(await readFile(junit, 'utf8')).toBe(xml.text);
    const page = await runCli(['runs', 'export', id, '--format', 'html', '--config-dir', configDir]);
    expect(page.code, page.err).toBe(0);
    expect(page.out).toBe(html.text);
    const unknown = await runCli(['runs', 'show', 'no-such-run', '--config-dir', configDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('ATP_HISTORY_RUN_UNKNOWN');
    const removed = await runCli(['runs', 'delete', id, '--config-dir', configDir]);
    expect(removed.code, removed.err).toBe(0);
    expect((await again.call('GET', `/api/v1/runs/${id}`)).status).toBe(404);
  }, 1_200_000);

  it('cancels a running run: status cancelled, the lab VM gone, the partial report kept', async () => {
    requireBinary('qemu-system-x86_64', 'qemu-system-x86');
    const rig = await rigOn(path.join(root, 'config-cancel'));
    const created = await rig.call('POST', '/api/v1/runs', { body: { suites: [{ name: 'short-loop.yaml', yaml: SHORT }], targets: { lab: {} }, rounds: 1000, pacing: { closedLoop: true } } });
    expect(created.status, explain(created)).toBe(201);
    const { id } = created.json as { id: string };
    await pollRun(rig, id, (d) => (d.progress[0]?.suitesDone ?? 0) >= 1 || !ACTIVE.includes(d.status), 'a first round to finish', 900_000);

    const early = await rig.call('DELETE', `/api/v1/runs/${id}`);
    expect(early.status, explain(early)).toBe(409);
    expect(errorOf(early).code).toBe('ATP_API_CONFLICT');
    const pids = loggedPids(rig.lines);
    expect(pids.length, rig.lines.join('\n')).toBe(1);

    const cancel = await rig.call('POST', `/api/v1/runs/${id}/cancel`);
    expect(cancel.status, explain(cancel)).toBe(202);
    expect(cancel.json).toEqual({ id, status: 'cancelling' });
    const done = await pollRun(rig, id, (d) => !ACTIVE.includes(d.status), 'the cancelled run to end', 300_000);
    expect(done.status).toBe('cancelled');
    expect(done.exitCode).toBe(3);
    for (const pid of pids) expect(alive(pid), `QEMU ${pid} left behind`).toBe(false);

    const report = parseReport((await rig.call('GET', `/api/v1/runs/${id}/report`)).json, 'partial report');
    expect(report.suites.length).toBeGreaterThanOrEqual(1);
    expect(report.suites[0]?.verdict).toBe('pass');
    expect(report.fleet?.stopped?.reason).toBe('signal');
    expect(report.fleet?.vms.map((v) => v.outcome)).toEqual(['aborted']);

    const again = await rig.call('POST', `/api/v1/runs/${id}/cancel`);
    expect(again.status, explain(again)).toBe(409);
    expect(errorOf(again).message).toContain('has ended (cancelled)');
    const deleted = await rig.call('DELETE', `/api/v1/runs/${id}`);
    expect(deleted.status, explain(deleted)).toBe(200);
    const gone = await rig.call('GET', `/api/v1/runs/${id}`);
    expect(gone.status).toBe(404);
    expect(errorOf(gone).code).toBe('ATP_HISTORY_RUN_UNKNOWN');
  }, 1_200_000);

  it('marks a run a crashed server left running as interrupted when a server starts on its config dir', async () => {
    const configDir = path.join(root, 'config-crash');
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const store = RunStore.open(RunStore.fileIn(configDir));
    const crashed = finishedRun('crashed-run');
    store.create({ id: 'crashed-run', options: crashed.options, status: 'running', ownerPid: gone });
    for (const e of crashed.events.slice(0, 4)) store.appendEvent('crashed-run', e);
    store.close();
    const rig = await rigOn(configDir);
    expect(rig.lines.join('\n')).toContain('marked interrupted: crashed-run');
    const detail = await rig.call('GET', '/api/v1/runs/crashed-run');
    expect(detail.status, explain(detail)).toBe(200);
    expect(detail.json).toMatchObject({ status: 'interrupted', hasReport: false, events: 4, progress: [{ vm: 'lab', phase: 'running', suite: 'smoke', step: 0 }] });
    expect((detail.json as ApiRunDetail).finishedAt).toBeDefined();
    const report = await rig.call('GET', '/api/v1/runs/crashed-run/report');
    expect(report.status).toBe(404);
    expect(errorOf(report).message).toContain('has no report (interrupted)');
  });

  it('refuses bad suites with 400 naming file:line:column before anything boots', async () => {
    const rig = await rigOn(path.join(root, 'config-bad'));
    const inline = await rig.call('POST', '/api/v1/runs', {
      body: { suites: [{ name: 'bad.yaml', yaml: 'version: 1\nname: bad\ntarget: { vm: lab, screen: { width: 1024, height: 768 } }\nobserver: agent\nsteps:\n  - type: hi\n  - press: [ctrl+nosuchkey]\n' }], targets: { lab: {} } },
    });
    expect(inline.status, explain(inline)).toBe(400);
    expect(errorOf(inline).code).toBe('ATP_SCENARIO_INVALID');
    expect(errorOf(inline).message).toMatch(/bad\.yaml:7:\d+: steps\[1\]/);

    const file = await rig.call('POST', '/api/v1/runs', { body: { suites: ['smoke.yaml', 'broken.yaml'], targets: { lab: { count: 2 } } } });
    expect(file.status, explain(file)).toBe(400);
    expect(errorOf(file).message).toContain(`${path.join(suiteDir, 'broken.yaml')}:6:`);

    // Only suite files inside the suite dirs: not another file, not by .., not through a symlink.
    for (const given of ['../package.json', '../outside.yaml', 'link.yaml', path.join(root, 'outside.yaml')]) {
      const outside = await rig.call('POST', '/api/v1/runs', { body: { suites: ['smoke.yaml', given], targets: { lab: {} } } });
      expect(outside.status, `${given}: ${explain(outside)}`).toBe(400);
      expect(errorOf(outside)).toMatchObject({ code: 'ATP_SCHEMA_INVALID', details: { field: 'suites[1]', value: given } });
    }
    const missing = await rig.call('POST', '/api/v1/runs', { body: { suites: ['nope.yaml'], targets: { lab: {} } } });
    expect(missing.status, explain(missing)).toBe(400);
    expect(errorOf(missing).code).toBe('ATP_SCENARIO_READ');

    const noToken = await rig.call('POST', '/api/v1/runs', { body: { suites: ['smoke.yaml'], targets: { vms: 'web*' } } });
    expect(noToken.status, explain(noToken)).toBe(400);
    expect(errorOf(noToken).message).toContain('targets.token');
    const both = await rig.call('POST', '/api/v1/runs', { body: { suites: ['smoke.yaml'], targets: { lab: {} }, rounds: 2, durationMs: 1000 } });
    expect(both.status, explain(both)).toBe(400);

    // Nothing was recorded, nothing booted.
    const list = await rig.call('GET', '/api/v1/runs');
    expect(list.json).toMatchObject({ runs: [], total: 0 });
    expect(loggedPids(rig.lines)).toEqual([]);
  });
});
