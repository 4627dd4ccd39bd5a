import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AtpError } from '@atp/protocol';
import {
  cont,
  humanMonitorCommand,
  inputSendEvent,
  QmpClient,
  queryStatus,
  queryVersion,
  screendump,
  sendKey,
  stop,
  systemPowerdown,
  systemReset,
  type QmpEvent,
  type QmpEventOverflow,
  type QmpState,
} from '../src/vm/qmp/index.js';
import { startQemu, type QemuInstance } from './support/qemu.js';

let qemu: QemuInstance;
let client: QmpClient;
const protocolErrors: AtpError[] = [];

beforeAll(async () => {
  // A QEMU -qmp socket serves one client at a time: a second client gets its own socket.
  qemu = await startQemu({ trace: false, extraQmpSockets: 1 });
  client = await QmpClient.connect({ path: qemu.qmpPath }, { defaultTimeoutMs: 20_000 });
  client.on('error', (e) => protocolErrors.push(e));
});

afterAll(async () => {
  await client?.close();
  await qemu?.cleanup();
});

describe('QmpClient against a real QEMU', () => {
  it('reads the greeting, negotiates oob and is ready', async () => {
    expect(client.state).toBe('ready');
    expect(client.greeting?.version.qemu.major).toBeGreaterThanOrEqual(7);
    expect(client.greeting?.capabilities).toContain('oob');
    // query-yank is one of the few commands QEMU 7.2 allows out of band: it works only if oob was negotiated.
    const yank = await client.execute<unknown[]>('query-yank', undefined, { oob: true });
    expect(Array.isArray(yank)).toBe(true);
  });

  it('queryStatus and queryVersion', async () => {
    const status = await queryStatus(client);
    expect(status).toMatchObject({ status: 'running', running: true });
    const version = await queryVersion(client);
    expect(version).toEqual(client.greeting?.version);
  });

  it('stop and cont, with STOP and RESUME events through waitForEvent, onEvent and events()', async () => {
    const stream = client.events();
    const seen: string[] = [];
    const off = client.onEvent('*', (e) => seen.push(e.event));
    const stopped = client.waitForEvent('STOP', { timeoutMs: 15_000 });
    await stop(client);
    await stopped;
    expect(await queryStatus(client)).toMatchObject({ status: 'paused', running: false });
    const resumed = client.waitForEvent('RESUME', { timeoutMs: 15_000 });
    await cont(client);
    await resumed;
    const fromStream: string[] = [];
    for await (const e of stream) {
      fromStream.push(e.event);
      if (e.event === 'RESUME') break;
    }
    off();
    expect(fromStream).toEqual(['STOP', 'RESUME']);
    expect(seen).toEqual(['STOP', 'RESUME']);
    expect((await queryStatus(client)).running).toBe(true);
  });

  // Before reset/powerdown: those make SeaBIOS emit guest events a little later.
  it('counts and reports events an iterator had no room for', async () => {
    const stream = client.events({ bufferSize: 1 });
    const overflows: QmpEventOverflow[] = [];
    const off = client.on('eventsDropped', (o) => overflows.push(o));
    const resumed = client.waitForEvent('RESUME', { timeoutMs: 15_000 });
    await stop(client);
    await cont(client);
    await resumed;
    off();
    expect(stream.dropped).toBe(1);
    expect(overflows).toEqual([{ dropped: 1, bufferSize: 1, event: 'STOP' }]);
    expect(client.stats.eventsDropped).toBeGreaterThanOrEqual(1);
    expect((await stream.next()).value?.event).toBe('RESUME');
    await stream.return();
  });

  it('systemReset emits RESET, systemPowerdown emits POWERDOWN', async () => {
    const reset = client.waitForEvent('RESET', { timeoutMs: 15_000, predicate: (e) => e.data.reason === 'host-qmp-system-reset' });
    await systemReset(client);
    const event: QmpEvent = await reset;
    expect(event.data).toMatchObject({ guest: false });
    expect(event.timestamp.seconds).toBeGreaterThan(0);
    const powerdown = client.waitForEvent('POWERDOWN', { timeoutMs: 15_000 });
    await systemPowerdown(client);
    await powerdown;
  });

  it('screendump writes valid PPM and PNG files', async () => {
    const ppm = path.join(qemu.dir, 'screen.ppm');
    const png = path.join(qemu.dir, 'screen.png');
    await screendump(client, ppm);
    await screendump(client, png, { format: 'png' });
    const ppmBytes = await readFile(ppm);
    expect(ppmBytes.subarray(0, 3).toString('latin1')).toBe('P6\n');
    const header = /^P6\n(\d+) (\d+)\n255\n/.exec(ppmBytes.subarray(0, 32).toString('latin1'));
    expect(header).not.toBeNull();
    const [w, h] = [Number(header?.[1]), Number(header?.[2])];
    expect(ppmBytes.length).toBe((header?.[0].length ?? 0) + w * h * 3);
    const pngBytes = await readFile(png);
    expect([...pngBytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it("humanMonitorCommand('info version') returns QEMU's version text", async () => {
    const text = await humanMonitorCommand(client, 'info version');
    const v = client.greeting?.version.qemu;
    expect(text).toContain(`${v?.major}.${v?.minor}.${v?.micro}`);
  });

  it('routes 50 concurrent commands to their own replies', async () => {
    const n = 50;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) => (i % 5 === 0 ? queryStatus(client) : humanMonitorCommand(client, `print ${i}`))),
    );
    replies.forEach((reply, i) => {
      if (i % 5 === 0) expect(reply).toMatchObject({ running: true });
      else expect(reply).toBe(`0x${i.toString(16)}\r\n`);
    });
  });

  it("rejects QEMU's error replies with ATP_QMP_COMMAND carrying class and desc", async () => {
    const err = await client.execute('no-such-command').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ATP_QMP_COMMAND', details: { errorClass: 'CommandNotFound', command: 'no-such-command' } });
    expect((err as Error).message).toContain('CommandNotFound');
    // A command QEMU refuses out of band also comes back as a typed error.
    await expect(client.execute('query-status', undefined, { oob: true })).rejects.toMatchObject({ code: 'ATP_QMP_COMMAND' });
  });

  it('validates helper arguments before sending (ATP_SCHEMA_INVALID)', async () => {
    await expect(inputSendEvent(client, [{ type: 'abs', axis: 'x', value: 0x8000 }])).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
    await expect(inputSendEvent(client, [])).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
    await expect(sendKey(client, [{ type: 'qcode', data: 'Shift L' }])).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
    await expect(sendKey(client, [{ type: 'qcode', data: 'a' }], { holdTimeMs: -1 })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
  });

  it('saw no protocol errors from the real QEMU', () => {
    expect(protocolErrors).toEqual([]);
    expect(client.stats.protocolErrors).toBe(0);
  });

  it('close() ends streams and rejects later commands with ATP_QMP_CLOSED', async () => {
    const other = await QmpClient.connect({ path: qemu.extraQmpPaths[0] ?? '' });
    const states: QmpState[] = [];
    other.on('state', (s) => states.push(s));
    const stream = other.events();
    const waiting = other.waitForEvent('STOP', { timeoutMs: 60_000 });
    await other.close();
    expect(other.state).toBe('closed');
    expect(states).toEqual(['closed']);
    await expect(waiting).rejects.toMatchObject({ code: 'ATP_QMP_CLOSED' });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    await expect(queryStatus(other)).rejects.toMatchObject({ code: 'ATP_QMP_CLOSED' });
    // The first client is unaffected.
    expect((await queryStatus(client)).running).toBe(true);
  });
});
