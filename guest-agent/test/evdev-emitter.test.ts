import { describe, expect, it } from 'vitest';
import { CaptureEmitter, type CapturedEvent } from '../src/capture/capture.js';

const keyEvent = (device: string, t: number): CapturedEvent => ({ kind: 'key', t, device, key: 'KEY_A', action: 'down' });

describe('CaptureEmitter', () => {
  it('fans events and errors out to subscribers until they unsubscribe', () => {
    const emitter = new CaptureEmitter();
    const seen: number[] = [];
    const off = emitter.subscribe({ event: (e) => seen.push(e.t) });
    emitter.emit(keyEvent('event1', 1));
    off();
    emitter.emit(keyEvent('event1', 2));
    expect(seen).toEqual([1]);
  });

  it('iterates in order and ends at end()', async () => {
    const emitter = new CaptureEmitter();
    const it = emitter.events();
    const pending = it.next();
    emitter.emit(keyEvent('event1', 1));
    emitter.emit(keyEvent('event1', 2));
    expect((await pending).value).toMatchObject({ t: 1 });
    expect((await it.next()).value).toMatchObject({ t: 2 });
    const waiting = it.next();
    emitter.end();
    expect((await waiting).done).toBe(true);
  });

  it('counts what a full iterator queue cannot hold and reports it per device as sync-dropped', async () => {
    const emitter = new CaptureEmitter();
    const it = emitter.events({ maxQueued: 2 });
    for (let t = 1; t <= 5; t++) emitter.emit(keyEvent('event1', t));
    emitter.emit(keyEvent('event4', 6));
    emitter.emit(keyEvent('event1', 7));
    const got: CapturedEvent[] = [];
    for (let i = 0; i < 4; i++) {
      const next = await it.next();
      if (next.done !== true) got.push(next.value);
    }
    expect(got).toEqual([
      keyEvent('event1', 1),
      keyEvent('event1', 2),
      { kind: 'sync-dropped', t: 3, device: 'event1', lost: 4 },
      { kind: 'sync-dropped', t: 6, device: 'event4', lost: 1 },
    ]);
    emitter.emit(keyEvent('event1', 8));
    expect((await it.next()).value).toEqual(keyEvent('event1', 8));
    await it.return?.();
  });

  it('ends an iterator on abort', async () => {
    const emitter = new CaptureEmitter();
    const controller = new AbortController();
    const it = emitter.events({ signal: controller.signal });
    const waiting = it.next();
    controller.abort();
    expect((await waiting).done).toBe(true);
  });
});
