/**
 * Client mouse mode: which surface coordinate to send so that the guest sees
 * the suite's pixel. Pure.
 *
 * The chain: SPICE MOUSE_POSITION x on the primary surface (W wide) → QEMU
 * tablet_position scales it with qemu_input_scale_axis(x, 0, W, 0, 0x7FFF),
 * i.e. abs = trunc(x * 32767 / W), W clamped to at least 16
 * (tablet_set_logical_size) → the guest's tablet reports abs → the verify
 * engine maps abs back to the suite screen (S pixels) as
 * round(abs * (S - 1) / 32767).
 *
 * `surfaceCoordinate` tries the integers around the ideal x = p * W / (S - 1)
 * (over 0..W: x = W is abs 32767, the far edge; x = W - 1 would land a pixel
 * short when W = S) and keeps the one whose round trip lands nearest p, then
 * the one whose abs is nearest the ideal. The corners land exactly on any
 * surface; every pixel lands within 1 px on a surface at least half the
 * screen, and exactly from twice the screen (at W = S a few pixels come back
 * 1 off: QEMU's truncated abs values are up to 32767/W + 1 apart, more than a
 * pixel's window of 32767/(S - 1)).
 */

export const ABS_AXIS_MAX = 0x7fff;
/** QEMU's floor on the tablet's logical size. */
const MIN_LOGICAL_SIZE = 16;

/** What QEMU makes of surface coordinate `x` on a surface `size` wide. */
export function qemuTabletAbs(x: number, size: number): number {
  return Math.trunc((x * ABS_AXIS_MAX) / Math.max(MIN_LOGICAL_SIZE, size));
}

/** The verify engine's reading of an abs value on a screen `size` pixels wide. */
export function absToScreenPixel(abs: number, size: number): number {
  if (size <= 1) return 0;
  return Math.round((Math.min(ABS_AXIS_MAX, Math.max(0, abs)) * (size - 1)) / ABS_AXIS_MAX);
}

/** The surface coordinate (0..surfaceSize, or 0..16 below QEMU's floor) to send for screen pixel `pixel` (clamped to 0..screenSize-1). */
export function surfaceCoordinate(pixel: number, screenSize: number, surfaceSize: number): number {
  if (screenSize <= 1) return 0;
  const p = Math.min(screenSize - 1, Math.max(0, pixel));
  const logical = Math.max(MIN_LOGICAL_SIZE, surfaceSize);
  const idealAbs = (p * ABS_AXIS_MAX) / (screenSize - 1);
  const idealX = (p * logical) / (screenSize - 1);
  let best = 0;
  let bestMiss = Infinity;
  let bestAbsError = Infinity;
  for (let x = Math.floor(idealX) - 1; x <= Math.ceil(idealX) + 1; x++) {
    if (x < 0 || x > logical) continue;
    const abs = qemuTabletAbs(x, surfaceSize);
    const miss = Math.abs(absToScreenPixel(abs, screenSize) - p);
    const absError = Math.abs(abs - idealAbs);
    if (miss < bestMiss || (miss === bestMiss && absError < bestAbsError)) {
      best = x;
      bestMiss = miss;
      bestAbsError = absError;
    }
  }
  return best;
}
