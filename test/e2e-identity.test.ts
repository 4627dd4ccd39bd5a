/**
 * One hub, several real lab VMs (QEMU TCG) at once, told apart by binding each
 * VM's channel and token to a key and its SMBIOS UUID (host/src/hub/bindings.ts).
 * VMs A and B are clones as far as the agent can tell (both say agentId
 * "desk"), with their own -uuid and token: both get sessions, under vm-a and
 * vm-b, a suite runs on both at the same time and each one's keys arrive only
 * under its own key. The agents read the UUID from the guest's DMI table, so
 * their hellos also show that what the guest reads equals QEMU's -uuid. VM C
 * sits behind a channel bound to A's UUID (an agent presenting another VM's
 * identity): its hellos are refused with ATP_HUB_IDENTITY and it never gets a
 * session.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHub, type HubItem } from '../host/src/hub/index.js';
import { QmpInjector } from '../host/src/inject/index.js';
import { labDown, labUp, readConsole, statePaths, type LabVm } from '../host/src/lab/index.js';
import { defaultCacheDir } from '../host/src/lab/paths.js';
import { parseSuiteText, runSuite, waitForAgentSession, type SuiteRun } from '../host/src/scenario/index.js';
import { QmpClient } from '../host/src/vm/qmp/index.js';
import { requireBinary } from '../host/test/support/binaries.js';
import { qemuProcessesFor } from './support/e2e-lab.js';

interface Machine {
  name: 'A' | 'B' | 'C';
  /** The key its channel is bound to. */
  key: string;
  uuid: string;
  token: string;
  stateDir: string;
  vm?: LabVm;
  qmp?: QmpClient;
}

const repo = fileURLToPath(new URL('../', import.meta.url));
/** The guest agent of this checkout, bundled into the lab image (as the verify CLI's lab target does). */
const AGENT = { agent: path.join(repo, 'guest-agent/src/main.ts'), agentAliases: { '@atp/protocol': path.join(repo, 'protocol-schemas/src/index.ts') } };
const HUB_TOKEN = randomBytes(16).toString('hex');
const machines: Machine[] = [];
let hub: AgentHub | undefined;

const machine = (name: Machine['name']): Machine => {
  const m = machines.find((x) => x.name === name);
  if (m?.vm === undefined) throw new Error(`lab VM ${name} did not start (see beforeAll)`);
  return m;
};
const theHub = (): AgentHub => {
  if (hub === undefined) throw new Error('no hub (see beforeAll)');
  return hub;
};

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  const [uuidA, uuidB] = [randomUUID(), randomUUID()];
  const specs = [
    { name: 'A', key: 'vm-a', uuid: uuidA, token: randomBytes(16).toString('hex'), bindUuid: uuidA },
    { name: 'B', key: 'vm-b', uuid: uuidB, token: randomBytes(16).toString('hex'), bindUuid: uuidB },
    // C is its own VM, with the hub-wide token, behind a channel bound to A's UUID.
    { name: 'C', key: 'vm-a2', uuid: randomUUID(), token: HUB_TOKEN, bindUuid: uuidA },
  ] as const;
  hub = await AgentHub.create({ auth: { tokens: [HUB_TOKEN] } });
  for (const s of specs) {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), `atp-e2e-id-${s.name.toLowerCase()}-`));
    machines.push({ name: s.name, key: s.key, uuid: s.uuid, token: s.token, stateDir });
    if (s.token !== HUB_TOKEN) hub.bind({ token: s.token, key: s.key, vmUuid: s.uuid });
    // The channel is bound before the VM boots: QEMU's chardev takes one client, and the first hello must find the binding.
    await hub.connectVirtio({ path: statePaths(stateDir).agent, name: `org.atp.agent.0 (${s.name})`, backoff: { initialMs: 50, maxMs: 500 }, bind: { key: s.key, vmUuid: s.bindUuid } });
  }
  const cacheDir = defaultCacheDir();
  const booted = await Promise.allSettled(
    machines.map((m) =>
      labUp({ stateDir: m.stateDir, cacheDir, ...AGENT, agentId: 'desk', uuid: m.uuid, token: m.token, waitForAgent: false, killOnExit: true, readyTimeoutMs: 240_000 }),
    ),
  );
  booted.forEach((r, i) => {
    const m = machines[i];
    if (m !== undefined && r.status === 'fulfilled') m.vm = r.value;
  });
  const failed = booted.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  for (const m of machines) m.qmp = await QmpClient.connect({ path: m.vm?.state.sockets.qmp ?? '' }, { connectTimeoutMs: 10_000 });
  await Promise.all(['vm-a', 'vm-b'].map((agentId) => waitForAgentSession(theHub(), { agentId, timeoutMs: 120_000 })));
}, 600_000);

afterAll(async () => {
  for (const m of machines) await m.qmp?.close().catch(() => undefined);
  await Promise.all(machines.map((m) => labDown({ stateDir: m.stateDir }).catch(() => undefined)));
  await hub?.close();
  for (const m of machines) {
    expect(qemuProcessesFor(m.stateDir)).toEqual([]);
    await rm(m.stateDir, { recursive: true, force: true });
  }
}, 120_000);

/** Everything stored under `key` so far. */
async function storedItems(key: string): Promise<HubItem[]> {
  const end = theHub().store.nextIndex(key);
  const items: HubItem[] = [];
  if (end === 0) return items;
  for await (const item of theHub().stream(key)) {
    items.push(item);
    if (items.length >= end) break;
  }
  return items;
}

const suiteFor = (name: string, text: string): string => `version: 1
name: identity-${name}
target: { vm: lab, layout: us }
observer: agent
defaults: { holdMs: 0, gapMs: 40, timeoutMs: 10000 }
steps:
  - type: '${text}'
  - expect: { keys: exact }
`;

/**
 * No qemu-ga clock here: the suite takes the hub's ping estimate for its key
 * (hub.clock(key)), so each clone is timed against its own agent's clock.
 */
async function runOn(m: Machine, text: string): Promise<SuiteRun> {
  const loaded = parseSuiteText(suiteFor(m.name, text), `identity-${m.name}.yaml`);
  const qmp = m.qmp;
  if (qmp === undefined) throw new Error(`no QMP for ${m.name}`);
  const injector = new QmpInjector({ executor: qmp, screen: loaded.scenario.target.screen });
  try {
    return await runSuite(loaded, { injector, hub: theHub(), agentId: m.key, qmp }, { pacing: { rate: 20 } });
  } finally {
    await injector.close();
  }
}

const keysUnder = (items: HubItem[]): Set<string> => new Set(items.flatMap((i) => (i.kind === 'event' && i.event.kind === 'key' ? [i.event.key] : [])));

describe('one hub, clones told apart by their bound channels, tokens and SMBIOS UUIDs', () => {
  it('gives both clones (one agentId "desk") a session under their own key, with the UUID QEMU was given', () => {
    const active = theHub()
      .sessions()
      .filter((s) => s.state === 'active')
      .map((s) => [s.agentId, s.helloAgentId, s.vmUuid, s.transport]);
    expect(active.sort()).toEqual([
      ['vm-a', 'desk', machine('A').uuid, 'virtio'],
      ['vm-b', 'desk', machine('B').uuid, 'virtio'],
    ]);
    // The agent reads the guest's DMI product_uuid: the same text as QEMU's -uuid (SMBIOS byte order handled by the kernel).
    expect(theHub().agentHello('vm-a')).toMatchObject({ agentId: 'desk', key: 'vm-a', vmUuid: machine('A').vm?.state.uuid });
    expect(theHub().agentHello('vm-b')).toMatchObject({ agentId: 'desk', key: 'vm-b', vmUuid: machine('B').vm?.state.uuid });
    expect(theHub().agentHello('desk')).toBeUndefined();
    expect(theHub().metrics().superseded).toBe(0);
  });

  it('runs a suite on both at once; each passes and each key set arrives only under its own key', async () => {
    const [a, b] = await Promise.all([runOn(machine('A'), 'qwert'), runOn(machine('B'), 'zxcvb')]);
    for (const run of [a, b]) {
      expect(run.report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
      expect(run.report.verdict).toBe('pass');
      expect(run.report.counts.matched).toBe(10);
    }
    expect([...keysUnder(await storedItems('vm-a'))].sort()).toEqual(['KEY_E', 'KEY_Q', 'KEY_R', 'KEY_T', 'KEY_W']);
    expect([...keysUnder(await storedItems('vm-b'))].sort()).toEqual(['KEY_B', 'KEY_C', 'KEY_V', 'KEY_X', 'KEY_Z']);
    expect(theHub().store.agents().sort()).toEqual(['vm-a', 'vm-b']);
  }, 60_000);

  it("refuses VM C, whose agent presents its own UUID on a channel bound to A's, with ATP_HUB_IDENTITY; C never gets a session", async () => {
    const c = machine('C');
    const uuidA = machine('A').uuid;
    const deadline = Date.now() + 60_000;
    while (!theHub().refusals().some((r) => r.key === 'vm-a2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const refusal = theHub()
      .refusals()
      .find((r) => r.key === 'vm-a2');
    expect(refusal).toMatchObject({ code: 'ATP_HUB_IDENTITY', agentId: 'desk', vmUuid: c.uuid, transport: 'virtio' });
    for (const part of ['vm-a2', uuidA, c.uuid, 'desk']) expect(refusal?.message).toContain(part);
    expect(theHub().metrics().identityRefusals).toBeGreaterThanOrEqual(1);
    // Only A's and B's agents were ever admitted; nothing was stored for vm-a2 (nor for A's key by C).
    expect(theHub().sessions().filter((s) => s.agentId === 'vm-a2' && s.state !== 'awaiting-hello')).toEqual([]);
    expect(theHub().store.nextIndex('vm-a2')).toBe(0);
    const helloUuids = (await storedItems('vm-a')).flatMap((i) => (i.kind === 'connected' ? [i.hello.vmUuid] : []));
    expect(new Set(helloUuids)).toEqual(new Set([uuidA]));
    // The agent in C was told why (it logs that a moment after the refusal: TCG is slow), and read its own UUID from the guest's DMI table.
    let consoleText = await readConsole({ stateDir: c.stateDir });
    while (!consoleText.includes('ATP_HUB_IDENTITY') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      consoleText = await readConsole({ stateDir: c.stateDir });
    }
    expect(consoleText).toContain('ATP_HUB_IDENTITY');
    expect(consoleText).toContain(c.uuid);
  }, 90_000);
});
