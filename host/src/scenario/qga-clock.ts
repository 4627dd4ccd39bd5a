/**
 * A clock-offset estimate through the QEMU guest agent: `guest-get-time` (the
 * guest's CLOCK_REALTIME, the clock of evdev timestamps and of the ATP agent's
 * Date.now()) bracketed by host times, NTP style with t2 = t3.
 *
 * Why besides the hub's estimate: qemu-ga answers with a round trip of about
 * 1 ms, the ATP agent's link through its virtio-serial port and the hub with
 * 7–10 ms under TCG (the legs are not symmetric, so the bound is half the
 * round trip: ±0.3–0.5 ms here against ±3–5 ms). Both agree within about a
 * millisecond since the agent's port is event-driven and the estimator takes
 * the fastest exchange (protocol-schemas/src/clock.ts).
 */
import { z } from 'zod';
import { estimateClockOffset, type ClockEstimate, type ClockTimestamps } from '@atp/protocol';
import { hostNow } from '../util/clock.js';
import { qgaExecuteParsed, type QgaExecutor } from '../vm/qga/index.js';

// Nanoseconds since the epoch are beyond 2^53: a whole double, not a safe integer.
const nanoseconds = z.number().nonnegative();

/** `samples` guest-get-time round trips → the offset (guest − host, ms). ATP_QGA_* when QGA fails. */
export async function qgaClockEstimate(qga: QgaExecutor, samples = 12): Promise<ClockEstimate> {
  const stamps: ClockTimestamps[] = [];
  for (let i = 0; i < samples; i++) {
    const t1 = hostNow();
    const ns = await qgaExecuteParsed(qga, 'guest-get-time', nanoseconds, undefined, { timeoutMs: 5000 });
    const t4 = hostNow();
    const guest = ns / 1e6;
    stamps.push({ t1, t2: guest, t3: guest, t4 });
  }
  return estimateClockOffset(stamps);
}
