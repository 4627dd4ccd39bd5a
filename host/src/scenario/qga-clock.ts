/**
 * A clock-offset estimate through the QEMU guest agent: `guest-get-time` (the
 * guest's CLOCK_REALTIME, the clock of evdev timestamps and of the ATP agent's
 * Date.now()) bracketed by host times, NTP style with t2 = t3.
 *
 * Why besides the hub's estimate: the ATP agent's virtio-serial link polls its
 * port (1–5 ms sleeps), so a ping waits longer on its way into the guest than
 * its pong on the way out. NTP assumes symmetric legs, so the hub's offset is
 * biased by half the difference, 5–20 ms under TCG, which shows as negative
 * latencies. qemu-ga wakes on input (glib poll), so both legs are alike and the
 * round trip is ~1.5 ms.
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
