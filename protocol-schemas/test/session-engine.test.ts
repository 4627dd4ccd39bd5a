/**
 * Property tests of the session engine (no sockets, no timers): the handshake,
 * exactly-once delivery across random cuts and reconnects, the one backoff
 * policy, heartbeats, pongs, and flush pacing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/backoff.js';
import { SESSION_AUTH_BACKOFF, SILENT_HEARTBEATS } from '../src/session/engine.js';
import { FlushBudget } from '../src/session/flush-budget.js';
import { EngineRig, IDENTITY } from './support/session-engine-harness.js';

const readyRig = (options: ConstructorParameters<typeof EngineRig>[0] = {}, heartbeatMs = 5_000): EngineRig => {
  const rig = new EngineRig(options);
  rig.feed({ type: 'start' });
  rig.connectOk();
  rig.welcome(heartbeatMs);
  return rig;
};

describe('session engine: handshake', () => {
  it('says hello with the delivery counters, resends exactly what follows welcome.ackedSeq, in order', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.nat(300), (pushed, ackedRaw) => {
        const rig = new EngineRig();
        for (let i = 0; i < pushed; i++) rig.sender.push({ kind: 'key', key: 'KEY_A', action: 'down', t: i, device: 'd' });
        expect(rig.feed({ type: 'start' })).toEqual([{ type: 'phase', phase: 'connecting' }, { type: 'connect' }]);
        const hello = rig.feed({ type: 'connected', identity: IDENTITY, where: 'rig' });
        expect(hello).toEqual([
          { type: 'phase', phase: 'handshake' },
          { type: 'send', message: { v: 1, type: 'hello', body: { ...IDENTITY, lastSeq: pushed === 0 ? null : pushed, unacked: pushed, overflowed: 0 } } },
          { type: 'arm', timer: 'welcome', delayMs: 10_000 },
        ]);
        const ackedSeq = pushed === 0 ? null : Math.min(ackedRaw, pushed);
        const welcome = rig.frame({ v: 1, type: 'welcome', body: { sessionId: 's', ackedSeq, hostTime: 0, heartbeatMs: 100 } });
        expect(welcome.slice(0, 3)).toEqual([{ type: 'cancel', timer: 'welcome' }, { type: 'phase', phase: 'ready' }, expect.objectContaining({ type: 'welcomed' })]);
        expect(welcome).toContainEqual({ type: 'arm', timer: 'heartbeat', delayMs: 100 });
        const sent = welcome.flatMap((d) => (d.type === 'send-events' ? d.bodies.flatMap((b) => b.events.map((e) => e.seq)) : []));
        const from = (ackedSeq ?? 0) + 1;
        expect(sent).toEqual(Array.from({ length: pushed - from + 1 }, (_, i) => from + i));
      }),
      { numRuns: 200 },
    );
  });

  it('turns an error instead of the welcome into a refusal, closes at once and backs off', () => {
    fc.assert(
      fc.property(fc.constantFrom('ATP_HUB_AUTH', 'ATP_HUB_IDENTITY', 'ATP_HUB_PROTOCOL', 'ATP_HUB_LIMIT_RATE'), (code) => {
        const rig = new EngineRig();
        rig.feed({ type: 'start' });
        rig.connectOk();
        const out = rig.frame({ v: 1, type: 'error', body: { code, message: 'no' } });
        const close = out.find((d) => d.type === 'close');
        const auth = code === 'ATP_HUB_AUTH' || code === 'ATP_HUB_IDENTITY';
        expect(close?.type === 'close' && close.reason?.code).toBe(auth ? 'ATP_AGENT_AUTH' : 'ATP_AGENT_REFUSED');
        expect(out).toContainEqual(expect.objectContaining({ type: 'backoff', auth, refusal: { code, message: 'no' } }));
        expect(rig.engine.phase).toBe('backoff');
        expect(rig.timers.has('welcome')).toBe(false);
      }),
    );
  });

  it('closes a handshake with no welcome after the welcome timeout, and never earlier', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 0, max: 120_000 }), (timeoutMs, waitMs) => {
        const rig = new EngineRig({ welcomeTimeoutMs: timeoutMs });
        rig.feed({ type: 'start' });
        rig.connectOk();
        const start = rig.now;
        rig.advanceTo(start + waitMs);
        const closed = rig.of('close');
        expect(closed.length).toBe(waitMs >= timeoutMs ? 1 : 0);
        if (closed[0] !== undefined) expect(closed[0].reason?.code).toBe('ATP_AGENT_TIMEOUT');
      }),
    );
  });
});

describe('session engine: exactly once across cuts and reconnects', () => {
  type Step = { kind: 'push'; n: number } | { kind: 'deliver' } | { kind: 'written' } | { kind: 'cut' } | { kind: 'wait'; ms: number } | { kind: 'reconnect'; ok: boolean };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('push' as const), n: fc.integer({ min: 1, max: 30 }) }),
    fc.constant({ kind: 'deliver' as const }),
    fc.constant({ kind: 'written' as const }),
    fc.constant({ kind: 'cut' as const }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
    fc.record({ kind: fc.constant('reconnect' as const), ok: fc.boolean() }),
  );

  it('the hub ends with every seq, each resume starts right after the welcome ackedSeq, and nothing stays unacked', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const rig = readyRig({ backoff: { initialMs: 10, maxMs: 100 } }, 1_000_000);
        let total = 0;
        const reconnect = (ok: boolean): void => {
          if (rig.engine.phase === 'backoff') rig.advanceTo(rig.timers.get('reconnect') ?? rig.now);
          if (!rig.connectPending) return;
          if (!ok) return rig.connectFail();
          rig.connectOk();
          rig.welcome(1_000_000);
        };
        for (const s of steps) {
          if (s.kind === 'push') total += rig.push(s.n).length;
          else if (s.kind === 'deliver') rig.deliver();
          else if (s.kind === 'written') rig.written();
          else if (s.kind === 'cut') rig.cut();
          else if (s.kind === 'wait') rig.advanceTo(rig.now + s.ms);
          else reconnect(s.ok);
        }
        // Let everything settle: reconnect until ready, then deliver and ack until the buffer is empty.
        for (let i = 0; i < 50 && rig.sender.unacked > 0; i++) {
          if (rig.engine.phase !== 'ready') reconnect(true);
          rig.advanceTo(rig.now + 5);
          rig.deliver();
          rig.written();
        }
        expect([...rig.hub].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        expect(rig.sender.unacked).toBe(0);
        for (const r of rig.resumes) expect(r.firstSeq).toBe((r.ackedSeq ?? 0) + 1);
        expect(rig.overlaps).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('session engine: backoff', () => {
  type Failure = 'connect-failed' | 'auth' | 'refused' | 'dropped-after-welcome' | 'welcome-timeout';
  const failure = fc.constantFrom<Failure>('connect-failed', 'auth', 'refused', 'dropped-after-welcome', 'welcome-timeout');

  it('waits backoffDelay(attempt) of the one policy: failures and refused tokens count apart, a welcome resets both', () => {
    fc.assert(
      fc.property(fc.array(failure, { minLength: 1, maxLength: 30 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (failures, r) => {
        const rig = new EngineRig({ random: () => r });
        rig.feed({ type: 'start' });
        let attempt = 0;
        let authAttempt = 0;
        for (const f of failures) {
          const from = rig.decisions.length;
          if (f === 'connect-failed') rig.connectFail();
          else {
            rig.connectOk();
            if (f === 'auth') rig.frame({ v: 1, type: 'error', body: { code: 'ATP_HUB_AUTH', message: 'bad token' } });
            else if (f === 'refused') rig.frame({ v: 1, type: 'error', body: { code: 'ATP_HUB_PROTOCOL', message: 'no' } });
            else if (f === 'welcome-timeout') rig.advanceTo(rig.now + 10_000);
            else {
              rig.welcome();
              attempt = authAttempt = 0;
              rig.cut();
            }
          }
          const backoff = rig.of('backoff', from);
          expect(backoff).toHaveLength(1);
          const b = backoff[0];
          if (b === undefined) return;
          const expected = f === 'auth' ? backoffDelay(authAttempt++, SESSION_AUTH_BACKOFF, () => r) : backoffDelay(attempt++, DEFAULT_BACKOFF, () => r);
          expect(b.delayMs).toBe(expected);
          expect(b.auth).toBe(f === 'auth');
          expect(b.delayMs).toBeLessThanOrEqual(f === 'auth' ? SESSION_AUTH_BACKOFF.maxMs : DEFAULT_BACKOFF.maxMs);
          expect(rig.engine.phase).toBe('backoff');
          // Nothing reconnects before the delay is over; the reconnect comes exactly then.
          const armedAt = rig.now;
          expect(rig.timers.get('reconnect')).toBe(armedAt + b.delayMs);
          if (b.delayMs > 0) {
            rig.advanceTo(armedAt + b.delayMs - 1);
            expect(rig.connectPending).toBe(false);
          }
          rig.advanceTo(armedAt + b.delayMs);
          expect(rig.connectPending).toBe(true);
          expect(rig.engine.phase).toBe('connecting');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stops instead of reconnecting after a drain, and on a supersede when told to', () => {
    const drained = readyRig();
    drained.feed({ type: 'drain' });
    drained.cut();
    expect(drained.engine.phase).toBe('stopped');
    expect(drained.timers.has('reconnect')).toBe(false);

    for (const onSuperseded of ['stop', 'reconnect'] as const) {
      const rig = readyRig({ onSuperseded });
      rig.frame({ v: 1, type: 'error', body: { code: 'ATP_HUB_SUPERSEDED', message: 'another one', fatal: true } });
      rig.cut();
      expect(rig.engine.phase).toBe(onSuperseded === 'stop' ? 'stopped' : 'backoff');
    }
  });
});

describe('session engine: heartbeat and pongs', () => {
  it('pings every heartbeat while traffic flows and closes only after three silent heartbeats', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 10_000 }), fc.array(fc.record({ gap: fc.double({ min: 0, max: 5, noNaN: true }), traffic: fc.boolean() }), { maxLength: 30 }), (hb, moves) => {
        const rig = readyRig({}, hb);
        let lastRx = rig.now;
        for (const m of moves) {
          const target = rig.now + m.gap * hb;
          // Where a heartbeat fires before target, the rule must hold at that moment.
          while ((rig.timers.get('heartbeat') ?? Infinity) <= target && rig.engine.phase === 'ready') {
            const at = rig.timers.get('heartbeat') ?? 0;
            const from = rig.decisions.length;
            rig.advanceTo(at);
            const closed = rig.of('close', from);
            if (at - lastRx > SILENT_HEARTBEATS * hb) {
              expect(closed.map((c) => c.reason?.code)).toEqual(['ATP_AGENT_TIMEOUT']);
            } else {
              expect(closed).toEqual([]);
              expect(rig.of('send', from).map((s) => s.message.type)).toEqual(['ping']);
            }
          }
          if (rig.engine.phase !== 'ready') return;
          rig.advanceTo(target);
          if (m.traffic) {
            rig.frame({ v: 1, type: 'ack', body: { bootId: IDENTITY.bootId, seq: 0 } });
            lastRx = rig.now;
          }
        }
        const ids = rig.of('send').flatMap((s) => (s.message.type === 'ping' ? [s.message.body.id] : []));
        expect(ids).toEqual(ids.map((_, i) => i + 1));
      }),
      { numRuns: 300 },
    );
  });

  it('answers a ping in the same turn, with t2 = the arrival time, during the handshake and after', () => {
    fc.assert(
      fc.property(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ min: 0, max: 1e13, noNaN: true }), fc.boolean(), (id, t1, at, ready) => {
        const rig = new EngineRig();
        rig.feed({ type: 'start' });
        rig.connectOk();
        if (ready) rig.welcome();
        const out = rig.feed({ type: 'frame', now: at, message: { v: 1, type: 'ping', body: { id, t1 } } });
        expect(out).toEqual([{ type: 'pong', id, t1, t2: at }]);
      }),
    );
  });
});

describe('session engine: flushing', () => {
  it('sends at once when idle, never two event writes at a time, and paces a flood to the budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.record({ gap: fc.double({ min: 0, max: 10, noNaN: true }), n: fc.integer({ min: 1, max: 5 }), written: fc.boolean() }), { maxLength: 200 }),
        (interval, burst, pushes) => {
          const rig = readyRig({ minFlushIntervalMs: interval, flushBurst: burst }, 1_000_000);
          const start = rig.now;
          for (const p of pushes) {
            rig.advanceTo(rig.now + p.gap);
            rig.push(p.n);
            if (p.written) rig.written();
          }
          rig.written();
          expect(rig.overlaps).toBe(0);
          const flushes = rig.of('send-events').length;
          expect(flushes).toBeLessThanOrEqual(burst + Math.ceil((rig.now - start) / interval) + 1);
        },
      ),
      { numRuns: 200 },
    );
    // After quiet, the first push's flush is armed with no delay at all.
    const rig = readyRig({ minFlushIntervalMs: 2, flushBurst: 4 });
    rig.advanceTo(rig.now + 100);
    expect(rig.push(1) && rig.of('arm').at(-1)).toEqual({ type: 'arm', timer: 'flush', delayMs: 0 });
  });

  it('holds a flood back for the budget, but a drain sends everything at once', () => {
    const rig = readyRig({ minFlushIntervalMs: 60_000 }, 1_000_000);
    rig.push(1);
    rig.advanceTo(rig.now + 1);
    rig.written();
    rig.push(199);
    rig.advanceTo(rig.now + 1_000);
    expect(rig.hub.size + rig.wire.length).toBe(1);
    rig.feed({ type: 'drain' });
    expect(rig.wire).toHaveLength(200);
  });

  it('FlushBudget: a full bucket never waits; an empty one waits for one token', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 50 }), (interval, burst) => {
        const budget = new FlushBudget(interval, burst);
        for (let i = 0; i < burst; i++) {
          expect(budget.waitMs(0)).toBe(0);
          budget.take(0);
        }
        expect(budget.waitMs(0)).toBe(interval);
        expect(budget.waitMs(interval)).toBe(0);
      }),
    );
    expect(new FlushBudget(0, 1).waitMs(0)).toBe(0);
  });
});
