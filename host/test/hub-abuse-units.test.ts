/**
 * The bookkeeping under the hub's abuse limits (hub/admission.ts), without
 * sockets: the address part of a remote, the per-address and oldest-first
 * accounting of connections awaiting hello, and the bad-token throttle's
 * budget, refill and bounded memory.
 */
import { describe, expect, it } from 'vitest';
import { AuthThrottle, PendingHellos, remoteAddress } from '../src/hub/index.js';

describe('hub admission bookkeeping', () => {
  it('takes the address out of a remote: IPv4, IPv6, and a socket path left whole', () => {
    expect(remoteAddress('127.0.0.1:5342')).toBe('127.0.0.1');
    expect(remoteAddress('::1:5342')).toBe('::1');
    expect(remoteAddress('::ffff:10.0.0.7:80')).toBe('::ffff:10.0.0.7');
    expect(remoteAddress('/run/atp/vm1.sock')).toBe('/run/atp/vm1.sock');
    expect(remoteAddress('?:0')).toBe('?');
  });

  it('counts waiters per address and hands out the oldest first', () => {
    const p = new PendingHellos<string>();
    p.add('a1', 'A');
    p.add('b1', 'B');
    p.add('a2', 'A');
    p.add('a2', 'A');
    expect(p.size).toBe(3);
    expect(p.countFor('A')).toBe(2);
    expect(p.oldest()).toBe('a1');
    p.delete('a1');
    p.delete('a1');
    expect(p.countFor('A')).toBe(1);
    expect(p.oldest()).toBe('b1');
    p.delete('b1');
    p.delete('a2');
    expect(p.size).toBe(0);
    expect(p.countFor('A')).toBe(0);
    expect(p.oldest()).toBeUndefined();
  });

  it('throttles an address after its burst of refusals, opens again as the budget refills, and forgets the least recent beyond its bound', () => {
    const t = new AuthThrottle({ burst: 3, perSecond: 2, maxAddresses: 2 });
    expect(t.blocked('A', 0)).toBe(false);
    for (let i = 0; i < 3; i++) t.refused('A', 0);
    expect(t.blocked('A', 0)).toBe(true);
    expect(t.blocked('A', 400)).toBe(true);
    // 2 per second: one refusal's worth after 500 ms.
    expect(t.blocked('A', 500)).toBe(false);
    expect(t.blocked('B', 500)).toBe(false);
    t.refused('B', 600);
    t.refused('C', 700);
    expect(t.addresses).toBe(2);
    // A was refused least recently: forgotten first, so it starts again from a full budget.
    for (let i = 0; i < 2; i++) t.refused('A', 800);
    expect(t.blocked('A', 800)).toBe(false);
    // Back to a full budget: the entry is dropped.
    expect(t.blocked('A', 10_000)).toBe(false);
    expect(t.addresses).toBeLessThanOrEqual(2);
  });
});
