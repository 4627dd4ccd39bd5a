/**
 * Measuring helpers of the agent bench (agent.bench.ts): where an agent's
 * resident memory lives, by mapping (/proc/PID/smaps, the executable's
 * mappings named from its ELF program headers), a cold start (the executable's
 * page cache dropped first, as after a boot), and the hot path (a burst of
 * key events through one FIFO evdev device to a real hub: events/s and agent
 * CPU per event).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { encodeInputEvents } from '@atp/protocol';
import type { AgentHub } from '../host/src/hub/index.js';
import { round } from './support.js';

const run = promisify(execFile);
const CLK_TCK = 100;

/** Resident MB per kind of mapping; the exe* keys are pages of the executable file. */
export interface MappingRss {
  exeHeadersDynsym: number;
  exeText: number;
  exeRodata: number;
  exeBuiltinsRemap: number;
  exeSeaBlob: number;
  exeData: number;
  sharedLibs: number;
  anonMalloc: number;
  anonOther: number;
}

export const MAPPING_LABELS: Record<keyof MappingRss, string> = {
  exeHeadersDynsym: 'exe: ELF headers, .dynsym/.dynstr',
  exeText: 'exe: .text',
  exeRodata: 'exe: .rodata (ICU, snapshot, built-in JS)',
  exeBuiltinsRemap: 'exe: V8 builtins (remapped .text)',
  exeSeaBlob: 'exe: SEA blob (note segment)',
  exeData: 'exe: .data/.bss',
  sharedLibs: 'libc, libstdc++, libm, ld.so',
  anonMalloc: 'anon: [heap] (malloc)',
  anonOther: 'anon: V8 heap, stacks, arenas',
};

interface Load {
  offset: number;
  filesz: number;
  flags: number;
  note: boolean;
}

/** PT_LOAD segments of a 64-bit little-endian ELF, each marked when a PT_NOTE lies inside it (postject's SEA blob). */
async function loadSegments(file: string): Promise<Load[]> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    const loads: Load[] = [];
    const notes: number[] = [];
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      const type = table.readUInt32LE(at);
      const offset = Number(table.readBigUInt64LE(at + 8));
      if (type === 1) loads.push({ offset, filesz: Number(table.readBigUInt64LE(at + 32)), flags: table.readUInt32LE(at + 4), note: false });
      if (type === 4) notes.push(offset);
    }
    // The first LOAD holds the binary's own small notes (build-id); a later read-only LOAD holding a note is the blob.
    for (const l of loads.slice(1)) l.note = notes.some((n) => n >= l.offset && n < l.offset + l.filesz) && (l.flags & 1) === 0;
    return loads;
  } finally {
    await fh.close();
  }
}

function classifyExe(loads: Load[], perms: string, offset: number): keyof MappingRss {
  if (perms.startsWith('rw')) return 'exeData';
  const load = loads.find((l) => offset >= l.offset - (l.offset % 4096) && offset < l.offset + l.filesz);
  if (load === undefined) return 'exeData';
  if (load.note) return 'exeSeaBlob';
  if ((load.flags & 1) !== 0) return offset === load.offset - (load.offset % 4096) ? 'exeText' : 'exeBuiltinsRemap';
  if (load.offset === 0) return 'exeHeadersDynsym';
  return (load.flags & 2) !== 0 ? 'exeData' : 'exeRodata';
}

/** Rss of a live process by mapping kind, in MB. */
export async function rssByMapping(pid: number, exe: string): Promise<MappingRss> {
  const loads = await loadSegments(exe);
  const kb: MappingRss = { exeHeadersDynsym: 0, exeText: 0, exeRodata: 0, exeBuiltinsRemap: 0, exeSeaBlob: 0, exeData: 0, sharedLibs: 0, anonMalloc: 0, anonOther: 0 };
  let current: keyof MappingRss = 'anonOther';
  for (const line of (await readFile(`/proc/${pid}/smaps`, 'utf8')).split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ (\S+) ([0-9a-f]+) \S+ \S+\s*(.*)$/.exec(line);
    if (m !== null) {
      const [, perms = '', off = '0', name = ''] = m;
      if (name === exe) current = classifyExe(loads, perms, parseInt(off, 16));
      else if (name.startsWith('/')) current = 'sharedLibs';
      else if (name === '[heap]') current = 'anonMalloc';
      else current = 'anonOther';
    } else if (line.startsWith('Rss:')) {
      kb[current] += Number(line.split(/\s+/)[1] ?? 0);
    }
  }
  const mb = { ...kb };
  for (const k of Object.keys(mb) as (keyof MappingRss)[]) mb[k] = round(kb[k] / 1024, 1);
  return mb;
}

/**
 * Drops the file's clean page-cache pages (posix_fadvise DONTNEED through dd),
 * so the next exec reads it the way a freshly booted guest does. Without this a
 * just-built executable sits in the cache as the large folios its single big
 * write produced, and every fault maps a whole folio: 58 MB file-backed instead
 * of 43 MB for the same binary (measured here on Linux 6.18, ext4).
 */
export async function dropPageCache(file: string): Promise<void> {
  await run('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

export interface BurstResult {
  /** Per round: events/s from the first write to the hub holding them all, and the agent's CPU per event. */
  rounds: { eventsPerS: number; cpuUsPerEvent: number }[];
}

async function cpuTicks(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const DEVICE = `I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
N: Name="bench keyboard"
P: Phys=bench/input0
S: Sysfs=/devices/bench/input/input0
U: Uniq=
H: Handlers=kbd event0
B: PROP=0
B: EV=120013
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe
B: MSC=10
B: LED=7
`;

/**
 * `rounds` bursts of `events` key events (each an EV_KEY + SYN record) written
 * by `cat` into a FIFO the agent reads as /dev/input/event0, one agent process
 * for all rounds (the first is cold code, the later ones warmed).
 */
export async function burst(cmd: readonly string[], hub: AgentHub, port: number, token: string, agentId: string, events: number, rounds = 2): Promise<BurstResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-agent-burst-'));
  let child: ChildProcess | undefined;
  try {
    await run('mkdir', [path.join(dir, 'input')]);
    await run('mkfifo', [path.join(dir, 'input', 'event0')]);
    await writeFile(path.join(dir, 'devices'), DEVICE);
    const records = Array.from({ length: events }, (_, m) => encodeInputEvents([{ sec: 1, usec: m % 1e6, type: 1, code: 30, value: m % 2 === 0 ? 1 : 0 }, { sec: 1, usec: m % 1e6, type: 0, code: 0, value: 0 }]));
    await writeFile(path.join(dir, 'burst'), Buffer.concat(records));
    child = spawn(cmd[0] ?? '', [...cmd.slice(1), 'run', '--link', 'tcp', '--endpoint', `127.0.0.1:${port}`, '--token', token, '--agent-id', agentId, '--capture', 'linux-evdev', '--evdev-dir', path.join(dir, 'input'), '--evdev-devices-file', path.join(dir, 'devices'), '--log-level', 'warn'], { cwd: dir, env: {}, stdio: ['ignore', 'ignore', 'inherit'] });
    const pid = child.pid ?? -1;
    await until(() => hub.sessions().some((s) => s.agentId === agentId && s.state === 'active'), `agent ${agentId} welcomed`, 30_000);
    // One writer for every round: the agent drops a device at EOF.
    const fifo = await open(path.join(dir, 'input', 'event0'), 'w');
    const result: BurstResult = { rounds: [] };
    try {
      for (let r = 0; r < rounds; r++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const before = hub.metrics().eventsDelivered;
        const a = await cpuTicks(pid);
        const t0 = performance.now();
        const cat = spawn('cat', [path.join(dir, 'burst')], { stdio: ['ignore', fifo.fd, 'inherit'] });
        const catDone = new Promise((resolve) => cat.once('exit', resolve));
        await until(() => hub.metrics().eventsDelivered - before >= events, `${events} events from ${agentId} at the hub`, 120_000);
        const ms = performance.now() - t0;
        const b = await cpuTicks(pid);
        await catDone;
        result.rounds.push({ eventsPerS: Math.round((events / ms) * 1000), cpuUsPerEvent: round((((b - a) / CLK_TCK) * 1e6) / events, 1) });
      }
    } finally {
      await fifo.close();
    }
    return result;
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}
