/**
 * The hub's hand-written fast path for `events` messages (message-codec.ts)
 * must agree with the zod schema: whenever it accepts a value, zod accepts it
 * too and returns it unchanged; whatever it declines goes to zod, so a bad
 * frame gets the same typed error as before. Checked on generated messages
 * that mix valid fields with arbitrary JSON, unknown keys and missing fields.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtpError, parseAgentMessage } from '@atp/protocol';
import { isPlainEventsMessage, toAgentMessage } from '../src/hub/message-codec.js';

const junk = fc.jsonValue({ maxDepth: 2 });
/** A valid value most of the time, else anything JSON can carry. */
const mostly = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: junk });
const str = (max: number): fc.Arbitrary<string> => fc.oneof({ weight: 6, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: fc.string({ minLength: max - 1, maxLength: max + 1 }) });
const int = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.constantFrom(0.5, 2 ** 53, -(2 ** 53)));

const kindFields: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
  key: {
    key: fc.constantFrom('KEY_A', 'BTN_LEFT', 'KEY_', 'key_a', 'KEY_LEFTSHIFT', `KEY_${'X'.repeat(62)}`),
    action: fc.constantFrom('down', 'up', 'repeat', 'press'),
    native: fc.option(fc.record({ evdev: mostly(int), scancode: mostly(int), domCode: mostly(str(64)) }, { requiredKeys: [] }), { nil: undefined }),
    modifiers: fc.option(fc.array(mostly(str(32)), { maxLength: 34 }), { nil: undefined }),
  },
  button: { button: fc.constantFrom('left', 'BTN_SIDE', 'BTN_', 'nose'), action: fc.constantFrom('down', 'up', 'repeat'), x: fc.option(fc.double(), { nil: undefined }) },
  rel: { dx: int, dy: int },
  abs: { x: fc.double({ noNaN: true }), y: fc.double({ noNaN: true }), range: fc.constant(undefined) },
  wheel: { dx: fc.option(fc.double({ noNaN: true }), { nil: undefined }), dy: fc.double({ noNaN: true }), hiRes: fc.option(fc.record({ dx: mostly(fc.integer()), dy: mostly(fc.integer()) }), { nil: undefined }) },
  'sync-dropped': { lost: fc.option(int, { nil: undefined }) },
  text: { text: str(4096), inputType: fc.option(str(64), { nil: undefined }), composing: fc.option(fc.boolean(), { nil: undefined }) },
  composition: { phase: fc.constantFrom('start', 'update', 'end', 'middle'), data: str(4096) },
  focus: { state: fc.constantFrom('focus', 'blur', 'visible', 'hidden', 'gone') },
  device: { change: fc.constantFrom('added', 'removed'), info: fc.record({ id: fc.constant('event0'), name: fc.string(), kind: fc.constant('keyboard') }) },
};

/** One event: its kind's fields (each sometimes replaced by junk), sometimes with an unknown key or a field missing. */
const event = (seq: number): fc.Arbitrary<unknown> =>
  fc
    .tuple(fc.constantFrom(...Object.keys(kindFields)), fc.integer({ min: 0, max: 9 }), junk, mostly(str(256)), mostly(fc.double({ noNaN: true, noDefaultInfinity: true })))
    .chain(([kind, twist, extra, device, t]) =>
      fc.record(Object.fromEntries(Object.entries(kindFields[kind] ?? {}).map(([k, a]) => [k, twist === 1 ? mostly(a) : a]))).map((fields) => {
        const all = Object.entries({ seq, t, device, kind, ...fields }).filter(([, v]) => v !== undefined);
        // twist 3 leaves one field out; twist 2 adds one the schema does not know.
        const kept = twist === 3 ? all.filter((_, k) => k !== Math.abs(seq) % all.length) : all;
        return Object.fromEntries(twist === 2 ? [...kept, ['extra', extra]] : kept);
      }),
    );

const message = fc
  .tuple(fc.array(fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 0 }) }), { minLength: 0, maxLength: 3 }), fc.integer({ min: 0, max: 19 }), mostly(str(128)), junk)
  .chain(([steps, twist, bootId, extra]) => {
    let seq = 0;
    const seqs = steps.map((s) => (seq += s));
    return fc.tuple(...seqs.map((s) => event(s))).map((events) => {
      const m: Record<string, unknown> = { v: twist === 1 ? 2 : 1, type: 'events', body: { bootId, events } };
      if (twist === 2) m['extra'] = extra;
      if (twist === 3) (m['body'] as Record<string, unknown>)['more'] = extra;
      return m;
    });
  });

function viaZod(value: unknown): { ok: true; value: unknown } | { ok: false; code: string; message: string } {
  try {
    return { ok: true, value: parseAgentMessage(value, 'peer') };
  } catch (error) {
    if (!(error instanceof AtpError)) throw error;
    return { ok: false, code: error.code, message: error.message };
  }
}

describe('hub message codec', () => {
  it('accepts only what zod accepts unchanged, and otherwise answers exactly as zod does', () => {
    let fast = 0;
    let declined = 0;
    fc.assert(
      fc.property(message, (generated) => {
        // What arrives is what JSON carries (no -0, no undefined).
        const m = JSON.parse(JSON.stringify(generated)) as Record<string, unknown>;
        const zod = viaZod(JSON.parse(JSON.stringify(m)));
        if (m['v'] === 1 && Object.keys(m).length === 3 && isPlainEventsMessage(m)) {
          fast++;
          expect(zod).toEqual({ ok: true, value: m });
        } else declined++;
        let ours: ReturnType<typeof viaZod>;
        try {
          ours = { ok: true, value: toAgentMessage(JSON.parse(JSON.stringify(m)), 'peer') };
        } catch (error) {
          if (!(error instanceof AtpError)) throw error;
          ours = { ok: false, code: error.code, message: error.message };
        }
        expect(ours).toEqual(zod);
      }),
      { numRuns: 2000 },
    );
    // Both paths were exercised.
    expect(fast).toBeGreaterThan(100);
    expect(declined).toBeGreaterThan(100);
  });

  it('takes a real agent key event on the fast path and names the field of a broken one', () => {
    const ok = { v: 1, type: 'events', body: { bootId: 'b1', events: [{ seq: 1, t: 5.5, device: 'event3', kind: 'key', key: 'KEY_A', action: 'down', native: { evdev: 30, scancode: 458756 }, modifiers: ['shift'] }] } };
    expect(isPlainEventsMessage(ok)).toBe(true);
    expect(toAgentMessage(ok, 'agent a1')).toBe(ok);
    const bad = { v: 1, type: 'events', body: { bootId: 'b1', events: [{ seq: 1, t: 5.5, device: 'event3', kind: 'key', key: 'KEY_A', action: 'down' }, { seq: 1, t: 6, device: 'event3', kind: 'key', key: 'KEY_A', action: 'up' }] } };
    expect(() => toAgentMessage(bad, 'agent a1')).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', message: expect.stringContaining('body.events[1].seq') }));
  });
});
