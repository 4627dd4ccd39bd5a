/**
 * /api/v1/hosts/local/vms and the input routes (/api/v1/keyboard/send|text,
 * /api/v1/mouse/move|click) against a real server and the real libvirtd
 * (qemu:///system): a guest-less transient domain (SeaBIOS with nothing to
 * boot) with a password-protected VNC display, and a defined domain that
 * never runs. QEMU's own input trace, switched on through libvirt (HMP
 * `trace-event input_event_* on`; virtlogd writes it to the domain's log),
 * proves what reached QEMU's input layer, through QMP (the default) and
 * through the VNC server (`injector: vnc`).
 *
 * Also: a paused domain is continued before the keys go in; an unknown
 * domain is 404, a stopped one 409; bad keys, untypable text and injector
 * choices that do not fit are 400 before anything is opened; the VNC
 * password appears in no answer and no log line.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pixelToAbs } from '../src/inject/pointer-scale.js';
import { buildDomainXml, VirshLibvirtClient } from '../src/vm/libvirt/index.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from './support/libvirtd.js';
import { errorOf, explain, startApiRig, type ApiAnswer, type ApiRig } from './api-areas-support.js';

const run = promisify(execFile);
const VNC_PASSWORD = 'apivnc1';
const dom = testDomainName('atp-api-input');
const off = testDomainName('atp-api-off');
const domainLog = `/var/log/libvirt/qemu/${dom}.log`;
/** A request through libvirt on a shared 2-core machine (virsh calls, a VNC handshake). */
const CALL_MS = 120_000;
const TRACE_MS = 30_000;
let client: VirshLibvirtClient;
let release: (() => Promise<void>) | undefined;
let rig: ApiRig;
let dir = '';
const answers: ApiAnswer[] = [];

async function post(route: string, body: unknown): Promise<ApiAnswer> {
  const a = await rig.call('POST', route, { body });
  answers.push(a);
  return a;
}

const sizeOf = async (file: string): Promise<number> => (await stat(file).catch(() => undefined))?.size ?? 0;

async function readFrom(file: string, offset: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

interface Traced {
  keys: [string, number][];
  buttons: [string, number][];
  abs: [string, number][];
  syncs: number;
  text: string;
}

/** QEMU's input trace in the domain's log since `offset`, once `done` accepts it. */
async function traceSince(offset: number, done: (t: Traced) => boolean, what: string): Promise<Traced> {
  const deadline = Date.now() + TRACE_MS;
  for (;;) {
    const text = await readFrom(domainLog, offset);
    const lines = text.split('\n');
    const pick = (re: RegExp): [string, number][] => lines.flatMap((l) => {
      const m = re.exec(l);
      return m === null ? [] : [[m[1] ?? '', Number(m[2])] as [string, number]];
    });
    const traced: Traced = {
      // Lock keys aside: a display server may sync them on connect.
      keys: pick(/input_event_key_qcode con -?\d+, key qcode (\w+), down (\d)/).filter(([k]) => !/_lock$/.test(k)),
      buttons: pick(/input_event_btn con -?\d+, button (\w+), down (\d)/),
      abs: pick(/input_event_abs con -?\d+, axis (\w+), value (0x[0-9a-f]+|\d+)/),
      syncs: lines.filter((l) => l.includes('input_event_sync')).length,
      text,
    };
    if (done(traced)) return traced;
    if (Date.now() > deadline) throw new Error(`QEMU's input trace in ${domainLog} never showed ${what} within ${TRACE_MS} ms; it has:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function monitor(command: string, hmp = false): Promise<string> {
  const args = ['-q', '-c', SYSTEM_URI, 'qemu-monitor-command', dom, ...(hmp ? ['--hmp'] : []), command];
  return (await run('virsh', args, { env: { ...process.env, LC_ALL: 'C' }, timeout: 30_000 })).stdout;
}

beforeAll(async () => {
  release = await acquireLibvirtSuiteLock();
  await ensureLibvirtd();
  client = new VirshLibvirtClient({ uri: SYSTEM_URI });
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-api-input-'));
  await client.create(buildDomainXml({ name: dom, guestAgent: false, graphics: { type: 'vnc', port: 'auto', passwd: VNC_PASSWORD } }), { timeoutMs: 60_000 });
  await client.define(buildDomainXml({ name: off, guestAgent: false }));
  await monitor('trace-event input_event_* on', true);
  rig = await startApiRig({ configDir: path.join(dir, 'config') });
}, 660_000);

afterAll(async () => {
  await rig?.close();
  await client?.close();
  await removeDomain(dom);
  await removeDomain(off);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  await release?.();
}, 120_000);

describe('GET /api/v1/hosts/local/vms', () => {
  it('lists the domains with their state: the running one with its id, the defined one shut off', async () => {
    const a = await rig.call('GET', '/api/v1/hosts/local/vms');
    answers.push(a);
    expect(a.status, explain(a, rig)).toBe(200);
    const body = a.json as { host: string; uri: string; domains: { name: string; id?: number; state: string }[] };
    expect(body).toMatchObject({ host: 'local', uri: SYSTEM_URI });
    expect(body.domains.find((d) => d.name === dom)).toEqual({ name: dom, id: expect.any(Number), state: 'running' });
    expect(body.domains.find((d) => d.name === off)).toEqual({ name: off, state: 'shutoff' });
  }, CALL_MS);
});

describe('keyboard and mouse through the API', () => {
  it('keyboard/send through QMP: 6 key events, in order in the trace', async () => {
    const offset = await sizeOf(domainLog);
    const a = await post('/api/v1/keyboard/send', { vm: dom, keys: ['a', 'shift+b'] });
    expect(a.status, explain(a, rig)).toBe(200);
    expect(a.json).toEqual({ vm: dom, keystrokes: 2, actions: 6 });
    const traced = await traceSince(offset, (t) => t.keys.length >= 6, 'a, then shift+b');
    expect(traced.keys, traced.text).toEqual([['a', 1], ['a', 0], ['shift', 1], ['b', 1], ['b', 0], ['shift', 0]]);
  }, CALL_MS);

  it('keyboard/text through the layout: "Hi!" is shift+h, i, shift+1', async () => {
    const offset = await sizeOf(domainLog);
    const a = await post('/api/v1/keyboard/text', { vm: dom, text: 'Hi!', layout: 'us', rate: 100 });
    expect(a.status, explain(a, rig)).toBe(200);
    expect(a.json).toEqual({ vm: dom, keystrokes: 3, actions: 10 });
    const traced = await traceSince(offset, (t) => t.keys.length >= 10, 'H, i, !');
    expect(traced.keys, traced.text).toEqual([['shift', 1], ['h', 1], ['h', 0], ['shift', 0], ['i', 1], ['i', 0], ['shift', 1], ['1', 1], ['1', 0], ['shift', 0]]);
  }, CALL_MS);

  it('keyboard/send through VNC (injector vnc, the password from libvirt): the keys in the trace', async () => {
    const offset = await sizeOf(domainLog);
    const a = await post('/api/v1/keyboard/send', { vm: dom, keys: ['c', 'enter'], injector: 'vnc' });
    expect(a.status, explain(a, rig)).toBe(200);
    expect(a.json).toEqual({ vm: dom, keystrokes: 2, actions: 4 });
    const traced = await traceSince(offset, (t) => t.keys.length >= 4, 'c and enter through VNC');
    expect(traced.keys, traced.text).toEqual([['c', 1], ['c', 0], ['ret', 1], ['ret', 0]]);
  }, CALL_MS);

  it('mouse/move through QMP: the absolute position of the pixel on the given screen', async () => {
    const offset = await sizeOf(domainLog);
    const a = await post('/api/v1/mouse/move', { vm: dom, x: 320, y: 100, screen: { width: 640, height: 480 } });
    expect(a.status, explain(a, rig)).toBe(200);
    expect(a.json).toEqual({ vm: dom, x: 320, y: 100, screen: { width: 640, height: 480 } });
    const traced = await traceSince(offset, (t) => t.abs.length >= 2, 'the absolute x and y');
    expect(traced.abs, traced.text).toEqual([['x', pixelToAbs(320, 640)], ['y', pixelToAbs(100, 480)]]);
  }, CALL_MS);

  it('mouse/click right through VNC: the button down and up; mouse/move through VNC reaches QEMU', async () => {
    const offset = await sizeOf(domainLog);
    const a = await post('/api/v1/mouse/click', { vm: dom, button: 'right', injector: 'vnc' });
    expect(a.status, explain(a, rig)).toBe(200);
    expect(a.json).toEqual({ vm: dom, button: 'right' });
    const traced = await traceSince(offset, (t) => t.buttons.length >= 2, 'the right button pressed and released');
    expect(traced.buttons, traced.text).toEqual([['right', 1], ['right', 0]]);

    const before = await sizeOf(domainLog);
    const moved = await post('/api/v1/mouse/move', { vm: dom, x: 10, y: 20, injector: 'vnc' });
    expect(moved.status, explain(moved)).toBe(200);
    await traceSince(before, (t) => t.syncs >= 1, 'the VNC pointer event (its input_event_sync)');
  }, CALL_MS);

  it('a paused domain is continued first, then typed into', async () => {
    await client.suspend(dom);
    expect(await client.state(dom)).toBe('paused');
    const offset = await sizeOf(domainLog);
    const a = await post('/api/v1/keyboard/send', { vm: dom, keys: ['x'] });
    expect(a.status, explain(a, rig)).toBe(200);
    expect(await client.state(dom)).toBe('running');
    const traced = await traceSince(offset, (t) => t.keys.length >= 2, 'x after the resume');
    expect(traced.keys).toEqual([['x', 1], ['x', 0]]);
  }, CALL_MS);
});

describe('input errors', () => {
  it('an unknown domain is 404, a stopped one 409, both naming it', async () => {
    const unknown = await post('/api/v1/keyboard/send', { vm: 'atp-no-such-domain', keys: ['a'] });
    expect(unknown.status, explain(unknown)).toBe(404);
    expect(errorOf(unknown)).toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_FOUND' });
    expect(errorOf(unknown).message).toContain('atp-no-such-domain');
    const stopped = await post('/api/v1/mouse/click', { vm: off });
    expect(stopped.status, explain(stopped)).toBe(409);
    expect(errorOf(stopped)).toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING', details: { domain: off, state: 'shutoff' } });
    const noHost = await post('/api/v1/keyboard/send', { vm: `${dom}@nohost`, keys: ['a'] });
    expect(noHost.status, explain(noHost)).toBe(404);
    expect(errorOf(noHost).code).toBe('ATP_CONFIG_HOST_UNKNOWN');
  }, CALL_MS);

  it('bad keys, untypable text and injector choices that do not fit are 400 naming the problem', async () => {
    const cases: [string, unknown, string, string][] = [
      ['/api/v1/keyboard/send', { vm: dom, keys: ['ctrl+bogus'] }, 'ATP_KEY_UNKNOWN', 'bogus'],
      ['/api/v1/keyboard/text', { vm: dom, text: 'a字' }, 'ATP_INJECT_UNMAPPED_CHAR', '字'],
      ['/api/v1/keyboard/text', { vm: dom, text: 'a', layout: 'xx' }, 'ATP_INJECT_LAYOUT_UNKNOWN', 'xx'],
      ['/api/v1/keyboard/send', { vm: dom, keys: ['a'], injector: 'vnc', mouseMode: 'server' }, 'ATP_SCHEMA_INVALID', 'mouseMode'],
      ['/api/v1/keyboard/send', { vm: dom, keys: ['a'], injector: 'qmp', display: 'vnc://127.0.0.1:5900' }, 'ATP_SCHEMA_INVALID', 'display'],
      ['/api/v1/keyboard/send', { vm: dom, keys: ['a'], displayCa: '/tmp/ca.pem' }, 'ATP_SCHEMA_INVALID', 'displayCa'],
      ['/api/v1/mouse/click', { vm: dom, injector: 'spice' }, 'ATP_INJECT_UNKNOWN', 'no SPICE server'],
    ];
    for (const [route, body, code, named] of cases) {
      const a = await post(route, body);
      expect(a.status, `${route} ${JSON.stringify(body)}: ${explain(a)}`).toBe(400);
      expect(errorOf(a).code).toBe(code);
      expect(errorOf(a).message).toContain(named);
    }
  }, CALL_MS);

  it('the VNC password and the API token appear in no answer and no log line', () => {
    expect(answers.length).toBeGreaterThan(15);
    for (const a of answers) for (const secret of [VNC_PASSWORD, rig.token]) expect(a.text).not.toContain(secret);
    for (const line of rig.lines) for (const secret of [VNC_PASSWORD, rig.token]) expect(line).not.toContain(secret);
  });
});
