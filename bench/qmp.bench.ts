/**
 * QMP bench, one real QEMU with two QMP sockets:
 * 1. query-status round trip through QmpClient vs a raw socket that does the
 *    bare minimum (negotiate once, write the JSON, read to the newline);
 * 2. input-send-event throughput (8 key pairs = 16 events per call, the batch
 *    limit in ARCHITECTURE.md), calls issued back to back, client vs raw.
 * Goal: the client adds under 0.2 ms median over the raw socket.
 */
import net from 'node:net';
import { inputSendEvent, QmpClient, queryStatus, type QmpInputEvent } from '../host/src/vm/qmp/index.js';
import { startQemu } from '../host/test/support/qemu.js';
import { baseEnv, nowMs, printTable, quantile, round, timeEach, type BenchResult } from './support.js';

const WARMUP = 300;
const ROUND_TRIPS = 3000;
const INPUT_CALLS = 1000;
const PAIRS_PER_CALL = 8;
const GOAL_OVERHEAD_MS = 0.2;

/** The raw baseline: one socket, lines read by hand, events skipped. */
class RawQmp {
  private buffer = '';
  private waiter: ((line: string) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) !== -1) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.startsWith('{"timestamp"')) continue;
        const w = this.waiter;
        this.waiter = undefined;
        w?.(line);
      }
    });
  }

  static async open(path: string): Promise<RawQmp> {
    const socket = net.createConnection({ path });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const raw = new RawQmp(socket);
    const greeting = raw.nextLine();
    await greeting;
    await raw.request('{"execute":"qmp_capabilities"}\n');
    return raw;
  }

  nextLine(): Promise<string> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  request(text: string): Promise<string> {
    const reply = this.nextLine();
    this.socket.write(text);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}


/** Seconds spent on `calls` sequential calls. */
async function secondsFor(calls: number, op: () => Promise<unknown>): Promise<number> {
  const t0 = nowMs();
  for (let i = 0; i < calls; i++) await op();
  return (nowMs() - t0) / 1000;
}

export async function run(): Promise<BenchResult> {
  const qemu = await startQemu({ trace: false, extraQmpSockets: 1 });
  const client = await QmpClient.connect({ path: qemu.qmpPath });
  const raw = await RawQmp.open(qemu.extraQmpPaths[0] ?? '');
  try {
    const rawStatus = (): Promise<string> => raw.request('{"execute":"query-status"}\n');
    const ours = (): Promise<unknown> => queryStatus(client);
    await timeEach(WARMUP, ours);
    await timeEach(WARMUP, rawStatus);
    // Interleave blocks so drift in machine load hits both sides alike.
    const oursMs: number[] = [];
    const rawMs: number[] = [];
    for (let block = 0; block < 10; block++) {
      oursMs.push(...(await timeEach(ROUND_TRIPS / 10, ours)));
      rawMs.push(...(await timeEach(ROUND_TRIPS / 10, rawStatus)));
    }

    const keys = ['a', 's', 'd', 'f', 'j', 'k', 'l', 'semicolon'];
    const batch: QmpInputEvent[] = keys.flatMap((k): QmpInputEvent[] => [
      { type: 'key', down: true, key: { type: 'qcode', data: k } },
      { type: 'key', down: false, key: { type: 'qcode', data: k } },
    ]);
    const wire = batch.map((e) => (e.type === 'key' ? { type: 'key', data: { down: e.down, key: e.key } } : e));
    const rawBatch = `${JSON.stringify({ execute: 'input-send-event', arguments: { events: wire } })}\n`;
    const oursInput = (): Promise<void> => inputSendEvent(client, batch);
    const rawInput = (): Promise<string> => raw.request(rawBatch);
    const firstRawReply = await rawInput();
    if (firstRawReply !== '{"return": {}}\r') throw new Error(`raw input-send-event failed: ${firstRawReply}`);
    await secondsFor(50, oursInput);
    let oursSeconds = 0;
    let rawSeconds = 0;
    for (let block = 0; block < 5; block++) {
      oursSeconds += await secondsFor(INPUT_CALLS / 5, oursInput);
      rawSeconds += await secondsFor(INPUT_CALLS / 5, rawInput);
    }
    const oursEps = (INPUT_CALLS * PAIRS_PER_CALL * 2) / oursSeconds;
    const rawEps = (INPUT_CALLS * PAIRS_PER_CALL * 2) / rawSeconds;

    const m = { median: quantile(oursMs, 0.5), p99: quantile(oursMs, 0.99) };
    const b = { median: quantile(rawMs, 0.5), p99: quantile(rawMs, 0.99) };
    const overheadMedian = m.median - b.median;
    printTable([
      { measure: 'query-status round trip, median (ms)', QmpClient: round(m.median), raw: round(b.median), overhead: round(overheadMedian) },
      { measure: 'query-status round trip, p99 (ms)', QmpClient: round(m.p99), raw: round(b.p99), overhead: round(m.p99 - b.p99) },
      { measure: 'input-send-event (events/s, 16 per call)', QmpClient: Math.round(oursEps), raw: Math.round(rawEps), overhead: `${round((1 - oursEps / rawEps) * 100, 1)} %` },
    ]);
    const met = overheadMedian < GOAL_OVERHEAD_MS;
    console.log(`goal: client overhead < ${GOAL_OVERHEAD_MS} ms median: ${met ? 'met' : 'NOT met'} (${round(overheadMedian)} ms)`);
    return {
      name: 'qmp',
      metrics: {
        queryStatusMedianMs: round(m.median, 4),
        queryStatusP99Ms: round(m.p99, 4),
        overheadMedianMs: round(overheadMedian, 4),
        overheadP99Ms: round(m.p99 - b.p99, 4),
        inputEventsPerSec: Math.round(oursEps),
        overheadGoalMs: GOAL_OVERHEAD_MS,
        overheadGoalMet: met,
      },
      baseline: { queryStatusMedianMs: round(b.median, 4), queryStatusP99Ms: round(b.p99, 4), inputEventsPerSec: Math.round(rawEps) },
      env: {
        ...baseEnv(),
        qemu: client.greeting?.version.package ?? '',
        accel: 'tcg',
        warmup: WARMUP,
        roundTrips: ROUND_TRIPS,
        inputCalls: INPUT_CALLS,
        eventsPerCall: PAIRS_PER_CALL * 2,
        baselineDescription: 'second -qmp socket on the same QEMU: negotiate once, write JSON, read to the newline by hand',
      },
    };
  } finally {
    raw.close();
    await client.close();
    await qemu.cleanup();
  }
}
