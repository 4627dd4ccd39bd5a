/** Pixel <-> absolute axis scaling: exact ends, centre, clamping, and a lossless round trip for every pixel. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ABS_MAX, absToPixel, pixelToAbs } from '../src/inject/pointer-scale.js';

describe('pointer scale', () => {
  it('maps the first and last pixel to 0 and 0x7fff and the centre to about 0x4000', () => {
    expect(pixelToAbs(0, 1024)).toBe(0);
    expect(pixelToAbs(1023, 1024)).toBe(ABS_MAX);
    expect(pixelToAbs(512, 1025)).toBe(0x4000); // round(512 * 32767 / 1024) = 16383.5 -> 16384
    expect(Math.abs(pixelToAbs(640, 1280) - 0x4000)).toBeLessThanOrEqual(16);
    expect(pixelToAbs(0, 1)).toBe(0);
    expect(absToPixel(ABS_MAX, 1)).toBe(0);
  });

  it('clamps pixels outside the screen and rejects bad sizes', () => {
    expect(pixelToAbs(-5, 800)).toBe(0);
    expect(pixelToAbs(10_000, 800)).toBe(ABS_MAX);
    expect(absToPixel(-1, 800)).toBe(0);
    expect(absToPixel(0x10000, 800)).toBe(799);
    expect(() => pixelToAbs(1, 0)).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    expect(() => pixelToAbs(Number.NaN, 10)).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
  });

  it('absToPixel(pixelToAbs(x)) === x for every pixel of common and odd screen sizes', () => {
    for (const size of [1, 2, 3, 640, 768, 1024, 1080, 1920, 2560, 3840, 4321, 32767, 32768]) {
      for (let x = 0; x < size; x++) {
        if (absToPixel(pixelToAbs(x, size), size) !== x) expect.fail(`size ${size}: pixel ${x} -> ${pixelToAbs(x, size)} -> ${absToPixel(pixelToAbs(x, size), size)}`);
      }
    }
  });

  it('round trip holds for any size and pixel (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: ABS_MAX + 1 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }))), ([size, x]) => {
        const abs = pixelToAbs(x, size);
        return abs >= 0 && abs <= ABS_MAX && absToPixel(abs, size) === x;
      }),
      { numRuns: 2000 },
    );
  });
});
