/**
 * SshConnectionManager against a real sshd: one shared connection per host;
 * sshd killed (with its sessions) → calls fail typed (ATP_SSH_UNREACHABLE
 * while it is down), the manager reconnects with backoff once sshd is back and
 * a call after works; the per-host concurrency limit holds, counted on the
 * server side (files present at once) and in the metrics.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { SshConnection } from '../src/vm/ssh/connection.js';
import { SshConnectionManager } from '../src/vm/ssh/manager.js';
import { startSshd, type Sshd } from './support/sshd.js';

const LONG = 180_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('SSH connection manager', () => {
  let sshd: Sshd;
  let dir = '';
  let manager: SshConnectionManager;
  const events: string[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-ssh-manager-'));
    const endpoint = { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: path.join(dir, 'known_hosts') };
    (await SshConnection.connect(endpoint, { acceptNewHostKey: true })).close();
    manager = new SshConnectionManager([{ name: 'hv', ...endpoint, maxConcurrency: 2 }], {
      backoff: { initialMs: 100, maxMs: 1000 },
      keepaliveIntervalMs: 1000,
      heartbeatIntervalMs: 500,
      onEvent: (host, e) => events.push(`${host}: ${e}`),
    });
  }, LONG);

  afterAll(async () => {
    await manager?.close();
    await sshd?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, LONG);

  it('shares one connection between callers and heartbeats on it', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => manager.exec('hv', ['echo', String(i)])));
    expect(results.map((r) => r.stdout)).toEqual(['0\n', '1\n', '2\n', '3\n', '4\n', '5\n']);
    const deadline = Date.now() + 30_000;
    while (manager.metrics('hv').heartbeats < 1 && Date.now() < deadline) await sleep(100);
    const m = manager.metrics('hv');
    expect(m).toMatchObject({ connects: 1, reconnects: 0, connected: true, state: 'connected', calls: 6, failures: 0, inFlight: 0, limit: 2 });
    expect(m.heartbeats).toBeGreaterThanOrEqual(1);
    expect(m.latencyP50Ms).toBeGreaterThan(0);
    expect(m.latencyP99Ms).toBeGreaterThanOrEqual(m.latencyP50Ms ?? 0);
  }, LONG);

  it('never has more than maxConcurrency calls in flight (server-side count)', async () => {
    const slots = path.join(dir, 'slots');
    // Each call marks itself present, records how many are present, waits, leaves.
    const script = 'mkdir -p "$1" && touch "$1/$2" && ls "$1" | wc -l && sleep 0.3 && rm "$1/$2"';
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => manager.exec('hv', ['sh', '-c', script, 'sh', slots, `call ${i}`])));
    const seen = runs.map((r) => Number(r.stdout.trim()));
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
    expect(Math.max(...seen)).toBe(2); // the limit was reached, not just respected by accident
    expect(manager.metrics('hv')).toMatchObject({ maxInFlight: 2, inFlight: 0, queued: 0 });
  }, LONG);

  it('reconnects with backoff after sshd is killed and restarted; calls fail typed meanwhile and work after', async () => {
    await sshd.stop();
    // the loss is noticed (channel EOF, keepalive or heartbeat), then calls fail typed while sshd is down
    const deadline = Date.now() + 60_000;
    let failure: unknown;
    while (Date.now() < deadline) {
      failure = await manager.exec('hv', ['true']).then(() => undefined, (e: unknown) => e);
      if (failure !== undefined) break;
      await sleep(100);
    }
    expect(isAtpError(failure)).toBe(true);
    expect((failure as { code: string }).code).toMatch(/^ATP_SSH_(UNREACHABLE|DISCONNECTED|CONNECT)$/);
    while (manager.metrics('hv').failedAttempts < 2 && Date.now() < deadline) await sleep(100);
    expect(manager.metrics('hv').failedAttempts).toBeGreaterThanOrEqual(2); // retried in the background, backing off
    await expect(manager.exec('hv', ['true'])).rejects.toMatchObject({ code: 'ATP_SSH_UNREACHABLE', details: { host: 'hv', lastCode: 'ATP_SSH_CONNECT' } });
    await sshd.start();
    let out: string | undefined;
    while (out === undefined && Date.now() < deadline) {
      out = await manager.exec('hv', ['echo', 'back']).then((r) => r.stdout, () => undefined);
      if (out === undefined) await sleep(100);
    }
    expect(out).toBe('back\n');
    expect(manager.metrics('hv')).toMatchObject({ connected: true, state: 'connected', reconnects: 1, connects: 2 });
    expect(events).toContain('hv: reconnected');
  }, LONG);

  it('an unknown host name and a closed manager fail typed', async () => {
    await expect(manager.exec('nope', ['true'])).rejects.toMatchObject({ code: 'ATP_CONFIG_HOST_UNKNOWN' });
    const other = new SshConnectionManager([{ name: 'x', host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: path.join(dir, 'known_hosts') }]);
    await other.close();
    await expect(other.exec('x', ['true'])).rejects.toMatchObject({ code: 'ATP_SSH_CLOSED' });
  });
});
