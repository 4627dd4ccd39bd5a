/**
 * Suite pixel -> VNC PointerEvent coordinate, so that the position the guest's
 * absolute device reports maps back to the intended pixel. Pure.
 *
 * Three numberings meet here:
 *  - QEMU turns a PointerEvent x on a surface `surface` wide into the absolute
 *    axis value abs = trunc(x * 32767 / surface) (ui/vnc.c pointer_event ->
 *    qemu_input_queue_abs with max_in = the surface width; measured on QEMU
 *    7.2: x = 0 -> 0, x = W/2 -> 0x3fff, x = W-1 -> trunc((W-1)*32767/W),
 *    x = W -> 0x7fff, and x > W goes past 0x7fff unclamped);
 *  - the verify engine reads a guest abs value back as the suite pixel
 *    round(abs * (size - 1) / 32767) (inject/pointer-scale.ts absToPixel);
 *  - the suite's own pixels 0..size-1.
 * So x runs 0..surface (one more than the framebuffer's last column: the
 * only way to reach abs 0x7fff, the suite's last pixel), and for each pixel
 * the best x is chosen among the few candidates around the ideal one, judged
 * by the pixel the verify engine will read back. Guarantees (unit-tested):
 * the corners come back exact for any sizes; the centre within 1 px on an
 * even-sized surface (every real mode) or an odd one at least half the suite
 * size; every pixel within 1 px when the surface is at least as large as the
 * suite screen (not always exact: QEMU truncates and the verify engine
 * rounds, so equal sizes skip a few pixels); elsewhere within half a surface
 * pixel's worth of suite pixels, plus one.
 */

export const ABS_AXIS_MAX = 0x7fff;
/** RFB coordinates are U16. */
const U16_MAX = 0xffff;

/** QEMU's absolute axis value for PointerEvent coordinate x on a surface `surface` wide. */
export function qemuAbs(x: number, surface: number): number {
  return Math.trunc((x * ABS_AXIS_MAX) / surface);
}

/** The suite pixel the verify engine reads back from an abs value (pointer-scale.ts absToPixel). */
export function suitePixelOf(abs: number, suiteSize: number): number {
  if (suiteSize <= 1) return 0;
  const clamped = Math.min(ABS_AXIS_MAX, Math.max(0, abs));
  return Math.min(suiteSize - 1, Math.max(0, Math.round((clamped * (suiteSize - 1)) / ABS_AXIS_MAX)));
}

/**
 * The PointerEvent coordinate (0..min(surface, 65535)) for suite pixel `pixel`
 * (clamped to 0..suiteSize-1) on an axis where the suite is `suiteSize` pixels
 * and the VNC surface `surface` pixels.
 */
export function surfaceCoordinate(pixel: number, suiteSize: number, surface: number): number {
  const maxX = Math.min(surface, U16_MAX);
  if (suiteSize <= 1 || surface < 1) return 0;
  const p = Math.min(suiteSize - 1, Math.max(0, pixel));
  const targetAbs = (p * ABS_AXIS_MAX) / (suiteSize - 1);
  const ideal = Math.floor((targetAbs * surface) / ABS_AXIS_MAX);
  let best = 0;
  let bestScore = Number.POSITIVE_INFINITY;
  for (let x = ideal - 1; x <= ideal + 2; x++) {
    if (x < 0 || x > maxX) continue;
    const abs = qemuAbs(x, surface);
    // Pixel error first, then closeness in abs units (ties: the smaller x).
    const score = Math.abs(suitePixelOf(abs, suiteSize) - p) * 1e6 + Math.abs(abs - targetAbs);
    if (score < bestScore) {
      bestScore = score;
      best = x;
    }
  }
  return best;
}
