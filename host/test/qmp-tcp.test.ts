/**
 * QmpClient over TCP against a real QEMU (`-qmp tcp:127.0.0.1:PORT,server=on,wait=off`):
 * connect, negotiate, a command, an event, and Nagle off on the client's socket.
 *
 * Nagle: TCP_NODELAY is not readable back from Node (no getsockopt) nor from
 * /proc or `ss`, so the test observes the call itself: a pass-through spy on
 * net.Socket.prototype.setNoDelay (the real method still runs) records which
 * socket it was called on, and that socket must be the one connected to QEMU's port.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { QmpClient, queryStatus, stop, cont, describeQmpTarget } from '../src/vm/qmp/index.js';
import { startQemu, type QemuInstance } from './support/qemu.js';

let qemu: QemuInstance;
let client: QmpClient | undefined;
const noDelayCalls: { remotePort: number | undefined; enable: boolean | undefined }[] = [];

beforeAll(async () => {
  qemu = await startQemu({ trace: false, qmpTcp: true });
  const original = net.Socket.prototype.setNoDelay;
  const spy = vi.spyOn(net.Socket.prototype, 'setNoDelay').mockImplementation(function (this: net.Socket, enable?: boolean) {
    noDelayCalls.push({ remotePort: this.remotePort, enable });
    return original.call(this, enable);
  });
  try {
    client = await QmpClient.connect({ host: '127.0.0.1', port: qemu.qmpTcpPort ?? -1 }, { defaultTimeoutMs: 20_000 });
  } finally {
    spy.mockRestore();
  }
});

afterAll(async () => {
  await client?.close();
  await qemu?.cleanup();
});

describe('QmpClient over TCP against a real QEMU', () => {
  it('connects to the TCP port and negotiates capabilities', () => {
    expect(qemu.qmpTcpPort).toBeGreaterThan(0);
    expect(describeQmpTarget({ host: '127.0.0.1', port: qemu.qmpTcpPort ?? -1 })).toBe(`127.0.0.1:${qemu.qmpTcpPort}`);
    expect(client?.state).toBe('ready');
    expect(client?.greeting?.version.qemu.major).toBeGreaterThanOrEqual(7);
    expect(client?.greeting?.capabilities).toContain('oob');
  });

  it('disables Nagle on the socket connected to QEMU', () => {
    expect(noDelayCalls).toContainEqual({ remotePort: qemu.qmpTcpPort, enable: true });
  });

  it('runs a command', async () => {
    if (!client) throw new Error('no client');
    expect(await queryStatus(client)).toMatchObject({ status: 'running', running: true });
    // oob works only if it was negotiated on this connection.
    expect(Array.isArray(await client.execute<unknown[]>('query-yank', undefined, { oob: true }))).toBe(true);
  });

  it('receives events', async () => {
    if (!client) throw new Error('no client');
    const stopped = client.waitForEvent('STOP', { timeoutMs: 15_000 });
    await stop(client);
    expect((await stopped).event).toBe('STOP');
    const resumed = client.waitForEvent('RESUME', { timeoutMs: 15_000 });
    await cont(client);
    await resumed;
    expect((await queryStatus(client)).running).toBe(true);
  });
});
