/**
 * Pixel <-> absolute pointer axis, shared by the injector (which sends) and the
 * verify engine (which measures pointer error). Pure.
 *
 * QEMU's absolute axes run 0..0x7FFF (ABS_AXIS_MAX). A screen `size` pixels wide
 * has pixels 0..size-1; the first pixel maps to 0 and the last to 0x7FFF:
 *
 *   abs   = clamp(round(pixel * 0x7FFF / (size - 1)), 0, 0x7FFF)   (pixel clamped to 0..size-1 first)
 *   pixel = clamp(round(abs * (size - 1) / 0x7FFF), 0, size - 1)
 *
 * Math.round rounds halves up. Because one abs step is smaller than one pixel for
 * every size up to 0x8000, absToPixel(pixelToAbs(p)) === p for every pixel p.
 * A size of 1 maps everything to 0.
 */
import { AtpError } from '@atp/protocol';
import { ABS_AXIS_MAX } from '../vm/qmp/commands.js';

export const ABS_MAX = ABS_AXIS_MAX;

function checkSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size < 1 || size > ABS_MAX + 1) {
    throw new AtpError('ATP_SCHEMA_INVALID', `screen ${what} must be an integer in 1..${ABS_MAX + 1}, got ${size}`, { details: { field: `screen.${what}`, value: size } });
  }
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Pixel coordinate (0..size-1, clamped; fractions allowed) -> QEMU absolute axis value (0..0x7FFF). */
export function pixelToAbs(pixel: number, size: number, what = 'size'): number {
  checkSize(size, what);
  if (!Number.isFinite(pixel)) throw new AtpError('ATP_SCHEMA_INVALID', `pointer ${what} coordinate must be finite, got ${pixel}`, { details: { field: what, value: pixel } });
  if (size === 1) return 0;
  return clamp(Math.round((clamp(pixel, 0, size - 1) * ABS_MAX) / (size - 1)), 0, ABS_MAX);
}

/** QEMU absolute axis value (0..0x7FFF, clamped) -> nearest pixel (0..size-1). */
export function absToPixel(abs: number, size: number, what = 'size'): number {
  checkSize(size, what);
  if (size === 1) return 0;
  return clamp(Math.round((clamp(abs, 0, ABS_MAX) * (size - 1)) / ABS_MAX), 0, size - 1);
}
