/**
 * The injector kit on an in-memory backend (the kit is pure bookkeeping: ids,
 * order, stamps, closed checks, failure details; the real backends are tested
 * against QEMU in inject-qmp, spice-* and vnc-* tests).
 */
import { describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { kitInjector, type InjectorBackend, type PlannedBatch } from '../src/inject/kit.js';
import type { InputAction } from '../src/inject/actions.js';

interface Wire {
  batches: number[][];
  closed: number;
  failAt?: number;
  delayMs?: number;
}

function backend(wire: Wire): InjectorBackend<PlannedBatch> {
  let stampClock = 1000;
  return {
    name: 'test',
    plan: (actions) =>
      actions.map((action, index) => ({
        actionIndexes: [index],
        ...(action.kind === 'move' ? { sentAs: [{ kind: 'moveBy', dx: action.x, dy: action.y } as InputAction] } : {}),
      })),
    deliver: async (batch, markSent) => {
      if (wire.delayMs !== undefined) await new Promise((r) => setTimeout(r, wire.delayMs));
      if (wire.failAt !== undefined && wire.batches.length === wire.failAt) throw new AtpError('ATP_QMP_CLOSED', 'wire gone');
      markSent(++stampClock);
      wire.batches.push([...batch.actionIndexes]);
    },
    close: async () => {
      wire.closed++;
    },
  };
}

const key = (down: boolean): InputAction => ({ kind: 'key', key: 'KEY_A', down });
const screen = { width: 800, height: 600 };

describe('injector kit', () => {
  it('numbers actions over the injector life, stamps each with the time its batch left, and records sentAs', async () => {
    const wire: Wire = { batches: [], closed: 0 };
    const inj = kitInjector(backend(wire), screen);
    const a = await inj.send([key(true), key(false)], { step: 3 });
    const b = await inj.send([{ kind: 'move', x: 5, y: 7 }]);
    expect(a.map((x) => [x.id, x.sentAt, x.step])).toEqual([[1, 1001, 3], [2, 1002, 3]]);
    expect(b).toEqual([{ id: 3, action: { kind: 'moveBy', dx: 5, dy: 7 }, sentAt: 1003 }]);
    expect(inj.name).toBe('test');
  });

  it('serialises overlapping sends in call order', async () => {
    const wire: Wire = { batches: [], closed: 0, delayMs: 5 };
    const inj = kitInjector(backend(wire), screen);
    const [a, b] = await Promise.all([inj.send([key(true), key(false)]), inj.send([key(true)])]);
    expect(a.map((x) => x.id)).toEqual([1, 2]);
    expect(b.map((x) => x.id)).toEqual([3]);
    expect(wire.batches).toEqual([[0], [1], [0]]);
  });

  it('a failure keeps the backend code and says what was delivered before it; the next send still runs', async () => {
    const wire: Wire = { batches: [], closed: 0, failAt: 1 };
    const inj = kitInjector(backend(wire), screen);
    const error = await inj.send([key(true), key(false), key(true)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtpError);
    const e = error as AtpError;
    expect(e.code).toBe('ATP_QMP_CLOSED');
    expect(e.message).toMatch(/1 of 3 actions of this send went out/);
    expect(e.details['sentCount']).toBe(1);
    expect((e.details['sent'] as { id: number }[]).map((s) => s.id)).toEqual([1]);
  });

  it('close lets the send in flight finish, closes the backend once, and refuses later sends', async () => {
    const wire: Wire = { batches: [], closed: 0, delayMs: 10 };
    const inj = kitInjector(backend(wire), screen);
    const inFlight = inj.send([key(true)]);
    await Promise.all([inj.close(), inj.close()]);
    expect((await inFlight).length).toBe(1);
    expect(wire.closed).toBe(1);
    await expect(inj.send([key(false)])).rejects.toMatchObject({ code: 'ATP_INJECT_CLOSED' });
  });

  it('refuses a screen that no pointer axis can address', () => {
    expect(() => kitInjector(backend({ batches: [], closed: 0 }), { width: 0, height: 10 })).toThrow(/screen width/);
  });
});
