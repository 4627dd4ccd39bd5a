/**
 * `atp-host keyboard` and `atp-host mouse` with `--injector vnc|spice` on a
 * real libvirt domain (qemu:///system), as processes: the endpoint comes from
 * the domain's <graphics> (libvirt-display.ts: port, listen address and the
 * password, which libvirt only prints with --security-info). The domain is
 * guest-less (SeaBIOS with nothing to boot): QEMU's display servers and input
 * layer run all the same, and QEMU's own input trace, switched on through
 * libvirt (HMP `trace-event input_event_* on`, whose lines virtlogd writes to
 * the domain's log), proves each event reached QEMU's input layer.
 *
 * - VNC: `keyboard send a b` → exit 0, 4 key events, a/b down/up in the trace;
 *   `mouse move 10 20` → exit 0 (the pointer event reached QEMU: its sync is in
 *   the trace; without a guest the PS/2 mouse is QEMU's active pointer, so a
 *   first position carries no motion); `mouse click` → the left button down/up.
 * - SPICE: `keyboard send --json a shift+b` → exit 0, 6 key events, in the
 *   trace in order; `mouse move 10 20` → a relative motion of 10, 20 (server
 *   mode moves by the difference from 0,0). Without a guest no absolute
 *   device is in use, so spice-server offers only server mouse mode: the
 *   keyboard run asks for no mode (the injector then takes the one offered),
 *   the mouse run asks for server mode explicitly.
 * - The SPICE password changed behind libvirt's back (QMP set_password):
 *   ATP_SPICE_AUTH, exit 3; neither password is ever printed.
 * - A domain with no VNC graphics: exit 3, ATP_INJECT_UNKNOWN naming it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDomainXml, VirshLibvirtClient } from '../src/vm/libvirt/index.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from './support/libvirtd.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SPICE_PASSWORD = 'kbd-spice-ticket';
const VNC_PASSWORD = 'kbdvnc1';
const both = testDomainName('atp-kbd-disp');
const spiceOnly = testDomainName('atp-kbd-nodisp');
/** libvirt's default for qemu:///system: QEMU's stderr (where the trace goes) through virtlogd. */
const domainLog = (name: string): string => `/var/log/libvirt/qemu/${name}.log`;
/** A CLI process on a shared 2-core machine: tsx start-up, the libvirt calls, the display handshake. */
const CLI_MS = 120_000;
const TRACE_MS = 20_000;
let client: VirshLibvirtClient;
let release: (() => Promise<void>) | undefined;
let configDir = '';

async function monitor(domain: string, command: string, hmp = false): Promise<string> {
  const args = ['-q', '-c', SYSTEM_URI, 'qemu-monitor-command', domain, ...(hmp ? ['--hmp'] : []), command];
  return (await run('virsh', args, { env: { ...process.env, LC_ALL: 'C' }, timeout: 30_000 })).stdout;
}

const setSpicePassword = (domain: string, password: string): Promise<string> => monitor(domain, JSON.stringify({ execute: 'set_password', arguments: { protocol: 'spice', password } }));

interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

function atpHost(...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args, '--config-dir', configDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
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
  /** Relative motion per axis (server mouse mode, PS/2 mouse). */
  rel: [string, number][];
  syncs: number;
  text: string;
}

/** QEMU's input trace lines written to the domain's log since `offset`, once `done` says all expected ones are there. */
async function traceSince(offset: number, done: (t: Traced) => boolean, what: string): Promise<Traced> {
  const deadline = Date.now() + TRACE_MS;
  for (;;) {
    const text = await readFrom(domainLog(both), offset);
    const lines = text.split('\n');
    const pick = (re: RegExp): [string, number][] => lines.flatMap((l) => {
      const m = re.exec(l);
      return m === null ? [] : [[m[1] ?? '', Number(m[2])] as [string, number]];
    });
    const traced: Traced = {
      // Lock keys aside: spice-server may press one on connect when its belief of the guest's LEDs differs (spice-injector.ts).
      keys: pick(/input_event_key_qcode con -?\d+, key qcode (\w+), down (\d)/).filter(([k]) => !/_lock$/.test(k)),
      buttons: pick(/input_event_btn con -?\d+, button (\w+), down (\d)/),
      rel: pick(/input_event_rel con -?\d+, axis (\w+), value (-?\d+)/),
      syncs: lines.filter((l) => l.includes('input_event_sync')).length,
      text,
    };
    if (done(traced)) return traced;
    if (Date.now() > deadline) throw new Error(`QEMU's input trace in ${domainLog(both)} never showed ${what} within ${TRACE_MS} ms; it has:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const explain = (r: CliRun): string => `exit ${r.code}\nstdout:\n${r.out}\nstderr:\n${r.err}`;
const noSecrets = (r: CliRun): void => {
  for (const secret of [SPICE_PASSWORD, VNC_PASSWORD]) expect(r.out + r.err).not.toContain(secret);
};

beforeAll(async () => {
  release = await acquireLibvirtSuiteLock();
  await ensureLibvirtd();
  client = new VirshLibvirtClient({ uri: SYSTEM_URI });
  configDir = await mkdtemp(path.join(os.tmpdir(), 'atp-kbd-display-'));
  // buildDomainXml writes one display; the VNC one is added to its text, as test/support/vdi-sim-lab.ts does.
  const xml = buildDomainXml({ name: both, guestAgent: false, graphics: { type: 'spice', port: 'auto', passwd: SPICE_PASSWORD } });
  const withVnc = xml.replace('<video>', `<graphics type='vnc' port='-1' autoport='yes' passwd='${VNC_PASSWORD}'><listen type='address' address='127.0.0.1'/></graphics>\n    <video>`);
  if (!withVnc.includes("type='vnc'")) throw new Error(`buildDomainXml's output changed; cannot add the VNC display:\n${xml}`);
  // Transient domains: SeaBIOS with nothing to boot keeps running, which is all the display servers need.
  await client.create(withVnc, { timeoutMs: 60_000 });
  await client.create(buildDomainXml({ name: spiceOnly, guestAgent: false, graphics: { type: 'spice', port: 'auto', passwd: SPICE_PASSWORD } }), { timeoutMs: 60_000 });
  await monitor(both, 'trace-event input_event_* on', true);
}, 660_000);

afterAll(async () => {
  await client?.close();
  await removeDomain(both);
  await removeDomain(spiceOnly);
  if (configDir !== '') await rm(configDir, { recursive: true, force: true });
  await release?.();
}, 120_000);

describe('atp-host keyboard / mouse --injector vnc|spice on a libvirt domain', () => {
  it('keyboard send --injector vnc a b: exit 0, 4 key events, each in QEMU\'s input trace', async () => {
    const offset = await sizeOf(domainLog(both));
    const r = await atpHost('keyboard', 'send', '--vm', both, '--injector', 'vnc', 'a', 'b');
    expect(r.code, explain(r)).toBe(0);
    expect(r.out).toBe(`${both}: sent 2 keystroke(s), 4 key event(s)\n`);
    noSecrets(r);
    const traced = await traceSince(offset, (t) => t.keys.length >= 4, 'a and b pressed and released');
    expect(traced.keys, traced.text).toEqual([['a', 1], ['a', 0], ['b', 1], ['b', 0]]);
  }, CLI_MS);

  it('mouse move --injector vnc 10 20: exit 0, the pointer event reached QEMU; mouse click: the left button down and up', async () => {
    const offset = await sizeOf(domainLog(both));
    const moved = await atpHost('mouse', 'move', '--vm', both, '--injector', 'vnc', '10', '20');
    expect(moved.code, explain(moved)).toBe(0);
    expect(moved.out).toBe(`${both}: pointer at 10,20 of 1024x768\n`);
    noSecrets(moved);
    // QEMU's VNC server ends every pointer event with a sync (and nothing else happens on this domain).
    await traceSince(offset, (t) => t.syncs >= 1, 'the VNC pointer event (its input_event_sync)');

    const before = await sizeOf(domainLog(both));
    const clicked = await atpHost('mouse', 'click', '--vm', both, '--injector', 'vnc');
    expect(clicked.code, explain(clicked)).toBe(0);
    expect(clicked.out).toBe(`${both}: clicked left\n`);
    const traced = await traceSince(before, (t) => t.buttons.length >= 2, 'the left button pressed and released');
    expect(traced.buttons, traced.text).toEqual([['left', 1], ['left', 0]]);
  }, CLI_MS * 2);

  it('keyboard send --injector spice --json a shift+b (no --mouse-mode: the injector takes the server mode offered): exit 0, 6 key events, in order in QEMU\'s input trace', async () => {
    const offset = await sizeOf(domainLog(both));
    const r = await atpHost('keyboard', 'send', '--vm', both, '--injector', 'spice', '--json', 'a', 'shift+b');
    expect(r.code, explain(r)).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ vm: both, keystrokes: 2, actions: 6 });
    noSecrets(r);
    const traced = await traceSince(offset, (t) => t.keys.length >= 6, 'a, then shift+b');
    expect(traced.keys, traced.text).toEqual([['a', 1], ['a', 0], ['shift', 1], ['b', 1], ['b', 0], ['shift', 0]]);
  }, CLI_MS);

  it('mouse move --injector spice --mouse-mode server 10 20: exit 0, QEMU got a relative motion of 10, 20 from the start position', async () => {
    const offset = await sizeOf(domainLog(both));
    const r = await atpHost('mouse', 'move', '--vm', both, '--injector', 'spice', '--mouse-mode', 'server', '10', '20');
    expect(r.code, explain(r)).toBe(0);
    expect(r.out).toBe(`${both}: pointer at 10,20 of 1024x768\n`);
    const traced = await traceSince(offset, (t) => t.rel.length >= 2, 'the relative motion');
    expect(traced.rel, traced.text).toEqual([['x', 10], ['y', 20]]);
  }, CLI_MS);

  it('a SPICE password changed behind libvirt\'s back: ATP_SPICE_AUTH, exit 3, no password printed', async () => {
    await setSpicePassword(both, 'not-what-libvirt-says');
    try {
      const r = await atpHost('keyboard', 'send', '--vm', both, '--injector', 'spice', '--mouse-mode', 'server', 'a');
      expect(r.code, explain(r)).toBe(3);
      expect(r.err).toMatch(/^atp-host: ATP_SPICE_AUTH: .*spice:\/\/127\.0\.0\.1:\d+/m);
      expect(r.out).toBe('');
      noSecrets(r);
      expect(r.err).not.toContain('not-what-libvirt-says');
    } finally {
      await setSpicePassword(both, SPICE_PASSWORD);
    }
  }, CLI_MS);

  it('a domain without VNC graphics: exit 3, ATP_INJECT_UNKNOWN naming the domain and what to pass', async () => {
    const r = await atpHost('keyboard', 'send', '--vm', spiceOnly, '--injector', 'vnc', 'a');
    expect(r.code, explain(r)).toBe(3);
    expect(r.err).toContain(`atp-host: ATP_INJECT_UNKNOWN: ${spiceOnly}: no VNC server is known for this VM; pass --display vnc://HOST:PORT`);
    expect(r.out).toBe('');
  }, CLI_MS);
});
