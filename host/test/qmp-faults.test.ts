/**
 * Faults with a real QEMU: a frozen process (SIGSTOP) for timeouts, a killed
 * one for disconnects, `quit`, and a restart on the same socket for reconnect.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AtpError } from '@atp/protocol';
import { QmpClient, queryStatus, quit, type QmpState } from '../src/vm/qmp/index.js';
import { startQemu, type QemuInstance } from './support/qemu.js';

let qemu: QemuInstance;
const clients: QmpClient[] = [];

async function connect(options: Parameters<typeof QmpClient.connect>[1] = {}): Promise<QmpClient> {
  const client = await QmpClient.connect({ path: qemu.qmpPath }, { defaultTimeoutMs: 20_000, ...options });
  clients.push(client);
  return client;
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  qemu = await startQemu({ trace: false });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  qemu.signal('SIGCONT');
});

afterAll(async () => {
  await qemu?.cleanup();
});

describe('QmpClient faults against a real QEMU', () => {
  it('times out a command to a frozen QEMU, then drops its late reply and carries on', async () => {
    const client = await connect();
    const errors: AtpError[] = [];
    client.on('error', (e) => errors.push(e));
    qemu.signal('SIGSTOP');
    const err = await client.execute('query-status', undefined, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ATP_QMP_TIMEOUT', details: { command: 'query-status', timeoutMs: 300 } });
    qemu.signal('SIGCONT');
    expect((await queryStatus(client)).running).toBe(true);
    expect(client.stats.lateReplies).toBe(1);
    expect(errors).toEqual([]);
    expect(client.state).toBe('ready');
  });

  it('rejects in-flight commands with ATP_QMP_DISCONNECTED when QEMU dies', async () => {
    const client = await connect();
    const notes: AtpError[] = [];
    client.on('disconnected', (e) => notes.push(e));
    qemu.signal('SIGSTOP');
    const inFlight = [client.execute('query-status'), queryStatus(client), client.execute('query-version')].map((p) => p.catch((e: unknown) => e));
    qemu.signal('SIGKILL');
    for (const err of await Promise.all(inFlight)) expect(err).toMatchObject({ code: 'ATP_QMP_DISCONNECTED' });
    await client.waitForState('closed', 15_000);
    expect(notes.map((n) => n.code)).toEqual(['ATP_QMP_DISCONNECTED']);
    await expect(queryStatus(client)).rejects.toMatchObject({ code: 'ATP_QMP_DISCONNECTED' });
    await expect(client.waitForEvent('STOP', { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'ATP_QMP_DISCONNECTED' });
    await qemu.restart();
  });

  it('quit ends QEMU; the client reaches closed and later commands reject typed', async () => {
    const client = await connect();
    const states: QmpState[] = [];
    client.on('state', (s) => states.push(s));
    const shutdown = client.waitForEvent('SHUTDOWN', { timeoutMs: 15_000 });
    await quit(client);
    expect((await shutdown).data).toMatchObject({ reason: 'host-qmp-quit' });
    await client.waitForState('closed', 15_000);
    await qemu.waitForExit();
    expect(states).toEqual(['closed']);
    await expect(queryStatus(client)).rejects.toMatchObject({ code: 'ATP_QMP_DISCONNECTED' });
    await client.close();
    await expect(queryStatus(client)).rejects.toMatchObject({ code: 'ATP_QMP_CLOSED' });
    await qemu.restart();
  });

  it('reconnects after QEMU restarts on the same socket; commands issued meanwhile wait for ready', async () => {
    const client = await connect({ reconnect: { initialMs: 50, maxMs: 500 } });
    const states: QmpState[] = [];
    client.on('state', (s) => states.push(s));
    const reconnected: number[] = [];
    client.on('reconnected', (r) => reconnected.push(r.attempts));
    const oldPid = qemu.pid;
    await qemu.kill();
    await client.waitForState('reconnecting', 15_000);
    const waiting = queryStatus(client, { timeoutMs: 60_000 });
    await qemu.restart();
    expect(qemu.pid).not.toBe(oldPid);
    await client.waitForState('ready', 30_000);
    expect((await waiting).running).toBe(true);
    expect((await queryStatus(client)).running).toBe(true);
    expect(states).toEqual(['reconnecting', 'ready']);
    expect(reconnected).toHaveLength(1);
    expect(client.stats.reconnects).toBe(1);
    expect(client.greeting?.capabilities).toContain('oob');
  });

  it('gives up after maxAttempts: commands waiting for ready reject ATP_QMP_DISCONNECTED, state closed', async () => {
    const client = await connect({ reconnect: { initialMs: 100, maxMs: 200, maxAttempts: 3 } });
    const attempts: AtpError[] = [];
    client.on('error', (e) => attempts.push(e));
    await qemu.kill();
    await client.waitForState('reconnecting', 15_000);
    const notSent = await queryStatus(client, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(notSent).toMatchObject({ code: 'ATP_QMP_DISCONNECTED' });
    const waiting = queryStatus(client, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    await client.waitForState('closed', 30_000);
    expect(await waiting).toMatchObject({ code: 'ATP_QMP_DISCONNECTED' });
    await until(() => attempts.length === 3);
    expect(attempts.every((e) => e.code === 'ATP_QMP_CONNECT')).toBe(true);
    await qemu.restart();
  });
});
