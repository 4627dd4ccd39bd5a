/**
 * Abusive peers of the agent hub over real TCP sockets on loopback, for the
 * hub-abuse tests and bench/hub-abuse.bench.ts: idle connections, slow senders
 * that never finish a frame, oversized frames, bad-token hello floods, and an
 * authenticated agent far over its message rate. Each attack reports what the
 * hub answered (the `error` code of its fatal message, or "closed" when it shut
 * the socket without one) and how long after the offence began it cut.
 * Run as a child process (`node --import tsx host/test/hub-abuse-attack.ts '<json AttackSpec>'`)
 * it prints one JSON AttackReport line: a 10,000-socket flood needs its own fd limit.
 * Only node:net here, so the child starts fast and costs the hub's machine little.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export type AttackSpec =
  | { kind: 'idle'; port: number; count: number; addresses: string[]; holdMs: number }
  | { kind: 'slow'; port: number; count: number; addresses: string[]; intervalMs: number; holdMs: number; token?: string }
  | { kind: 'oversized'; port: number; perSecond: number; durationMs: number; bytes: number; address: string }
  | { kind: 'bad-hello'; port: number; durationMs: number; concurrency: number; address: string }
  | { kind: 'rate'; port: number; token: string; perSecond: number; durationMs: number; address: string };

export interface AttackReport {
  kind: AttackSpec['kind'];
  /** Connections opened (connect succeeded). */
  opened: number;
  /** Connections that could not be opened (ECONNREFUSED, EADDRNOTAVAIL, ...). */
  connectFailed: number;
  /** What the hub answered, per code ("closed": shut without an error message; "open": still open when the attack ended). */
  codes: Record<string, number>;
  /** Offence start → error message (or close), ms, over the connections the hub cut. */
  cutMs: { p50: number; max: number; count: number };
  /** Attempts per second the attack made (hellos for bad-hello, messages for rate, frames for oversized). */
  attemptsPerSec: number;
  attempts: number;
  wallMs: number;
}

const now = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One abusive socket: records the first error code the hub sends and when the socket closed. */
class Probe {
  code: string | undefined;
  cutAt: number | undefined;
  closed = false;
  private text = '';
  readonly done: Promise<void>;

  constructor(
    readonly socket: net.Socket,
    public startedAt: number,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      if (this.code !== undefined || this.text.length > 65_536) return;
      this.text += d;
      for (let nl = this.text.indexOf('\n'); nl !== -1 && this.code === undefined; nl = this.text.indexOf('\n')) {
        const line = this.text.slice(0, nl);
        this.text = this.text.slice(nl + 1);
        try {
          const m = JSON.parse(line) as { type?: string; body?: { code?: string } };
          if (m.type === 'error' && typeof m.body?.code === 'string') {
            this.code = m.body.code;
            this.cutAt ??= now();
          }
        } catch {
          this.code = 'unparsable';
        }
      }
    });
    socket.on('error', () => undefined);
    this.done = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.cutAt ??= now();
        resolve();
      }),
    );
  }

  outcome(): string {
    return this.code ?? (this.closed ? 'closed' : 'open');
  }
}

function open(port: number, localAddress: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(undefined));
  });
}

export function helloLine(agentId: string, token: string): string {
  const body = { agentId, bootId: 'abuse-boot', os: { platform: 'linux', release: 'abuse', arch: 'x64' }, captureBackends: [], capabilities: [], version: 'abuse', token, lastSeq: null, unacked: 0, overflowed: 0 };
  return `${JSON.stringify({ v: 1, type: 'hello', body })}\n`;
}

export function eventsLine(seq: number): string {
  return `{"v":1,"type":"events","body":{"bootId":"abuse-boot","events":[{"seq":${seq},"t":${Date.now()},"device":"kbd0","kind":"key","key":"KEY_A","action":"down"}]}}\n`;
}

/**
 * A legitimate agent arriving during an attack: connects from `localAddress`,
 * says hello with a good token, and reports what came back (welcome, or the
 * error code) and how long after connecting.
 */
export async function newcomer(port: number, localAddress: string, token: string, timeoutMs = 10_000): Promise<{ outcome: string; ms: number }> {
  const t0 = now();
  const socket = await open(port, localAddress);
  if (socket === undefined) return { outcome: 'connect failed', ms: Math.round(now() - t0) };
  const probe = new Probe(socket, t0);
  let welcomed = false;
  socket.on('data', (d: string) => {
    if (d.includes('"type":"welcome"')) welcomed = true;
  });
  socket.write(helloLine(`newcomer-${process.pid}`, token));
  const deadline = t0 + timeoutMs;
  while (!welcomed && probe.code === undefined && !probe.closed && now() < deadline) await sleep(5);
  const ms = Math.round(now() - t0);
  socket.destroy();
  return { outcome: welcomed ? 'welcome' : probe.outcome() === 'open' ? 'no answer' : probe.outcome(), ms };
}

function summarize(kind: AttackSpec['kind'], probes: Probe[], connectFailed: number, attempts: number, wallMs: number): AttackReport {
  const codes: Record<string, number> = {};
  const cuts: number[] = [];
  for (const p of probes) {
    const o = p.outcome();
    codes[o] = (codes[o] ?? 0) + 1;
    if (o !== 'open' && p.cutAt !== undefined) cuts.push(p.cutAt - p.startedAt);
  }
  cuts.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(cuts[Math.min(cuts.length - 1, Math.floor(q * cuts.length))] ?? -1);
  return { kind, opened: probes.length, connectFailed, codes, cutMs: { p50: at(0.5), max: at(1), count: cuts.length }, attemptsPerSec: Math.round((attempts * 1000) / Math.max(1, wallMs)), attempts, wallMs: Math.round(wallMs) };
}

/** Opens `count` sockets, `inFlight` connects at a time, spread over the local addresses. */
async function openMany(port: number, count: number, addresses: string[], onOpen: (p: Probe) => void): Promise<{ probes: Probe[]; failed: number }> {
  const probes: Probe[] = [];
  let failed = 0;
  let next = 0;
  const inFlight = 256;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) {
        const i = next++;
        const socket = await open(port, addresses[i % addresses.length] ?? '127.0.0.1');
        if (socket === undefined) failed++;
        else {
          const p = new Probe(socket, now());
          probes.push(p);
          onOpen(p);
        }
      }
    }),
  );
  return { probes, failed };
}

export async function attack(spec: AttackSpec): Promise<AttackReport> {
  const t0 = now();
  const timers: NodeJS.Timeout[] = [];
  let attempts = 0;
  let probes: Probe[] = [];
  let failed = 0;
  switch (spec.kind) {
    case 'idle': {
      ({ probes, failed } = await openMany(spec.port, spec.count, spec.addresses, () => attempts++));
      await sleep(Math.max(0, t0 + spec.holdMs - now()));
      break;
    }
    case 'slow': {
      // Each sends a hello (or, with a token, a good hello and then an events frame) one byte per interval, never the newline.
      let n = 0;
      ({ probes, failed } = await openMany(spec.port, spec.count, spec.addresses, (p) => {
        const text = spec.token === undefined ? helloLine('slow', 'x').trimEnd() : `${helloLine(`slow-${process.pid}-${n++}`, spec.token)}${eventsLine(1).trimEnd()}`;
        let i = 0;
        if (spec.token !== undefined) {
          const first = text.indexOf('\n') + 1;
          p.socket.write(text.slice(0, first + 1));
          i = first + 1;
        }
        p.startedAt = now();
        const t = setInterval(() => {
          if (p.closed || i >= text.length) return clearInterval(t);
          p.socket.write(text[i++] ?? ' ');
          attempts++;
        }, spec.intervalMs);
        timers.push(t);
      }));
      await Promise.race([sleep(Math.max(0, t0 + spec.holdMs - now())), Promise.all(probes.map((p) => p.done))]);
      break;
    }
    case 'oversized': {
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const end = t0 + spec.durationMs;
      for (let k = 0; now() < end; k++) {
        const socket = await open(spec.port, spec.address);
        if (socket === undefined) failed++;
        else {
          const p = new Probe(socket, now());
          probes.push(p);
          attempts++;
          // One long line of spec.bytes, no newline, written while the hub keeps the socket open.
          void (async () => {
            for (let sent = 0; sent < spec.bytes && !p.closed; sent += chunk.length) {
              if (!socket.write(chunk)) await new Promise<void>((r) => (socket.once('drain', r), void p.done.then(r)));
            }
          })();
        }
        const due = t0 + ((k + 1) * 1000) / spec.perSecond;
        await sleep(Math.max(0, due - now()));
      }
      await Promise.race([Promise.all(probes.map((p) => p.done)), sleep(5000)]);
      break;
    }
    case 'bad-hello': {
      const end = t0 + spec.durationMs;
      await Promise.all(
        Array.from({ length: spec.concurrency }, async (_, w) => {
          for (let k = 0; now() < end; k++) {
            const socket = await open(spec.port, spec.address);
            if (socket === undefined) {
              failed++;
              continue;
            }
            const p = new Probe(socket, now());
            probes.push(p);
            attempts++;
            socket.write(helloLine(`flood-${w}-${k}`, `wrong-token-${k}`));
            await Promise.race([p.done, sleep(5000)]);
            socket.destroy();
          }
        }),
      );
      break;
    }
    case 'rate': {
      const socket = await open(spec.port, spec.address);
      if (socket === undefined) {
        failed++;
        break;
      }
      const p = new Probe(socket, now());
      probes.push(p);
      socket.write(helloLine(`rate-${process.pid}`, spec.token));
      await sleep(200);
      p.startedAt = now();
      const end = p.startedAt + spec.durationMs;
      // Batches every 5 ms, drift-free, until the hub cuts it or the time is up.
      for (let tick = 0; !p.closed && p.code === undefined && now() < end; tick++) {
        const due = p.startedAt + ((tick + 1) * 5);
        const target = Math.floor(((due - p.startedAt) * spec.perSecond) / 1000);
        let batch = '';
        while (attempts < target) batch += eventsLine(++attempts);
        if (batch !== '') socket.write(batch);
        await sleep(Math.max(0, due - now()));
      }
      await Promise.race([p.done, sleep(3000)]);
      break;
    }
  }
  const wall = now() - t0;
  for (const t of timers) clearInterval(t);
  // The rate attack's attempts/s is its sending rate until the cut, not over the wait that follows.
  const rateProbe = spec.kind === 'rate' ? probes[0] : undefined;
  const sendingMs = rateProbe?.cutAt === undefined ? wall : rateProbe.cutAt - rateProbe.startedAt;
  const report = summarize(spec.kind, probes, failed, attempts, sendingMs);
  report.wallMs = Math.round(wall);
  for (const p of probes) p.socket.destroy();
  return report;
}

if (process.argv[1]?.endsWith('hub-abuse-attack.ts') === true && process.argv[2] !== undefined) {
  const report = await attack(JSON.parse(process.argv[2]) as AttackSpec);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}
