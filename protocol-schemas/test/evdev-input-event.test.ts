import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAtpError } from '../src/errors.js';
import {
  INPUT_EVENT_SIZE,
  InputEventDecoder,
  decodeInputEvents,
  encodeInputEvents,
  eventTimeMs,
  layoutForArch,
  type InputEventLayout,
  type RawInputEvent,
} from '../src/evdev/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => Number.parseInt(b, 16));

// KEY_A (30) down at 1700000000.250000 s, then SYN_REPORT; and a REL_Y of -3.
const SAMPLE: RawInputEvent[] = [
  { sec: 1_700_000_000, usec: 250_000, type: 1, code: 30, value: 1 },
  { sec: 1_700_000_000, usec: 250_000, type: 0, code: 0, value: 0 },
  { sec: 1_700_000_001, usec: 999_999, type: 2, code: 1, value: -3 },
];

describe('input_event codec', () => {
  it('decodes the 24-byte layout of 64-bit userlands from literal bytes', () => {
    // sec=0x6553f100 (1700000000) u64, usec=0x3d090 (250000) u64, type=1, code=0x1e, value=1
    const bytes = hex('00f15365 00000000 90d00300 00000000 0100 1e00 01000000');
    expect(bytes.length).toBe(24);
    expect(new InputEventDecoder('timeval64').push(bytes)).toEqual([SAMPLE[0]]);
  });

  it('decodes the 16-byte layout of 32-bit userlands from literal bytes', () => {
    const bytes = hex('00f15365 90d00300 0200 0100 fdffffff');
    expect(new InputEventDecoder('timeval32').push(bytes)).toEqual([
      { sec: 1_700_000_000, usec: 250_000, type: 2, code: 1, value: -3 },
    ]);
  });

  it('reads sec and usec unsigned, 64-bit wide', () => {
    const event = { sec: 2 ** 40 + 5, usec: 7, type: 3, code: 0, value: 32767 };
    expect(new InputEventDecoder().push(encodeInputEvents([event]))).toEqual([event]);
  });

  it.each<InputEventLayout>(['timeval64', 'timeval32'])('round-trips with records split at every offset (%s)', (layout) => {
    const bytes = encodeInputEvents(SAMPLE, layout);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new InputEventDecoder(layout);
      const out = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      expect(out).toEqual(SAMPLE);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('keeps a partial record until it completes, byte by byte', () => {
    const decoder = new InputEventDecoder('timeval64');
    const bytes = encodeInputEvents(SAMPLE);
    const out: RawInputEvent[] = [];
    for (const byte of bytes) out.push(...decoder.push(Uint8Array.of(byte)));
    expect(out).toEqual(SAMPLE);
  });

  it('reset() forgets a partial record', () => {
    const decoder = new InputEventDecoder();
    decoder.push(new Uint8Array(10));
    expect(decoder.pendingBytes).toBe(10);
    decoder.reset();
    expect(decoder.push(encodeInputEvents(SAMPLE.slice(0, 1)))).toEqual(SAMPLE.slice(0, 1));
  });

  it('chooses the layout from the process architecture and converts timevals to ms', () => {
    expect(layoutForArch('x64')).toBe('timeval64');
    expect(layoutForArch('arm64')).toBe('timeval64');
    expect(layoutForArch('ia32')).toBe('timeval32');
    expect(layoutForArch('arm')).toBe('timeval32');
    expect(INPUT_EVENT_SIZE).toEqual({ timeval64: 24, timeval32: 16 });
    expect(eventTimeMs({ sec: 1, usec: 500 })).toBe(1000.5);
  });

  const eventArb = (layout: InputEventLayout): fc.Arbitrary<RawInputEvent> =>
    fc.record({
      sec: layout === 'timeval64' ? fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) : fc.nat({ max: 0xffffffff }),
      usec: fc.nat({ max: 0xffffffff }),
      type: fc.nat({ max: 0xffff }),
      code: fc.nat({ max: 0xffff }),
      value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    });

  it.each<InputEventLayout>(['timeval64', 'timeval32'])('property: any split of any record stream decodes to the same records (%s)', (layout) => {
    fc.assert(
      fc.property(fc.array(eventArb(layout), { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 12 }), (events, cuts) => {
        const bytes = encodeInputEvents(events, layout);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const decoder = new InputEventDecoder(layout);
        const out: RawInputEvent[] = [];
        let from = 0;
        for (const p of [...points, bytes.length]) {
          out.push(...decoder.push(bytes.subarray(from, p)));
          from = p;
        }
        expect(out).toEqual(events);
      }),
    );
  });
});

describe('decodeInputEvents (a whole recorded capture)', () => {
  it('decodes whole records of either layout and refuses a cut record with ATP_SCHEMA_INVALID', () => {
    expect(decodeInputEvents(encodeInputEvents(SAMPLE))).toEqual(SAMPLE);
    expect(decodeInputEvents(encodeInputEvents(SAMPLE, 'timeval32'), 'timeval32')).toEqual(SAMPLE);
    expect(decodeInputEvents(new Uint8Array(0))).toEqual([]);
    let thrown: unknown;
    try {
      decodeInputEvents(encodeInputEvents(SAMPLE).subarray(0, 30));
    } catch (error) {
      thrown = error;
    }
    expect(isAtpError(thrown) && thrown.code).toBe('ATP_SCHEMA_INVALID');
    expect(String(thrown)).toMatch(/30 bytes, not a multiple of 24/);
    expect(() => decodeInputEvents(new Uint8Array(24), 'timeval32')).toThrow(/multiple of 16/);
  });
});
