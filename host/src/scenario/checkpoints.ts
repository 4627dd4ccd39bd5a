/**
 * What an expect step checks beyond the verify engine's whole-run matching, as
 * findings. Pure.
 *
 *  - pointer: the position observed at the checkpoint (the last absolute event,
 *    in pixels; the kernel's initial 0, 0 before any) against the expected one.
 *    The engine checks only the end of each run of moves; a checkpoint checks
 *    the position right there, e.g. each corner of a series of moves.
 *  - latencyP95Ms: the suite's p95 latency (all matched transitions) against
 *    the budget. Reported as kind 'timeout': the input arrived, but late.
 *  - hub notices during the run: a gap (events the agent numbered but the hub
 *    never got) or an agent restart makes the observation incomplete: an
 *    'error' note beside the missing keys the engine reports. So does the
 *    agent's session ending (its channel closed, the agent or guest gone),
 *    with how long until it came back, or that it did not during the suite.
 */
import type { Finding, ObservedAbsEvent } from '@atp/protocol';
import type { ScreenSize } from '../inject/actions.js';
import { absToPixels, type LatencyStats } from '../verify/index.js';
import type { HubNotice } from './observer-feedback.js';
import type { ExpectSpec } from './plan.js';

const round1 = (v: number): number => Math.round(v * 10) / 10;

export function pointerCheckpoint(expect: ExpectSpec, step: number, lastAbs: ObservedAbsEvent | undefined, screen: ScreenSize, defaultTolerancePx: number): Finding | undefined {
  const want = expect.pointer;
  if (want === undefined) return undefined;
  const tolerance = want.tolerancePx ?? defaultTolerancePx;
  const seen = lastAbs === undefined ? { x: 0, y: 0 } : absToPixels(lastAbs.x, lastAbs.y, screen, lastAbs.range);
  const error = Math.hypot(seen.x - want.x, seen.y - want.y);
  if (error <= tolerance) return undefined;
  const none = lastAbs === undefined ? ' (no absolute event observed: still at the initial 0, 0)' : '';
  return {
    kind: 'pointer-error',
    step,
    message: `pointer at (${seen.x}, ${seen.y})${none} at the checkpoint, expected (${want.x}, ${want.y}): off by ${round1(error)} px > ${tolerance} px`,
    expected: { x: want.x, y: want.y, tolerancePx: tolerance },
    observed: { x: seen.x, y: seen.y, errorPx: error, ...(lastAbs === undefined ? {} : { seq: lastAbs.seq }) },
  };
}

export function latencyBudgetFindings(budgets: readonly { step: number; p95Ms: number }[], latency: LatencyStats | undefined): Finding[] {
  if (latency === undefined) return [];
  return budgets
    .filter((b) => latency.p95Ms > b.p95Ms)
    .map((b) => ({
      kind: 'timeout' as const,
      step: b.step,
      message: `latency p95 ${round1(latency.p95Ms)} ms is over the budget of ${b.p95Ms} ms (n=${latency.n}, clock ±${round1(latency.clockUncertaintyMs)} ms)`,
      expected: { latencyP95Ms: b.p95Ms },
      observed: { latencyP95Ms: latency.p95Ms, n: latency.n },
    }));
}

export function noticeFindings(notices: readonly HubNotice[]): Finding[] {
  const out: Finding[] = [];
  for (const n of notices) {
    if (n.kind === 'gap') {
      // A gap that starts at seq 1 means this hub first met the boot mid-stream: those
      // events went to an earlier hub, before this observation began. Input lost during
      // the run is reported by the matcher as missing whatever the notices say.
      if (n.expected <= 1) continue;
      out.push({ kind: 'error', message: `the agent's events ${n.expected}..${n.got - 1} never reached the hub: observation is incomplete`, observed: { expected: n.expected, got: n.got } });
    } else if (n.kind === 'disconnected') {
      const back = notices.find((m) => m.kind === 'connected' && m.index > n.index);
      const why = n.reason === null ? 'no reason given' : `${n.reason.code}: ${n.reason.message}`;
      const after = back === undefined ? 'it did not come back during the suite' : `it came back ${Math.round(back.receivedAt - n.receivedAt)} ms later`;
      out.push({ kind: 'error', message: `the agent's session ended during the suite (${why}); ${after}`, observed: { reason: n.reason?.code ?? null, back: back !== undefined } });
    } else if (n.kind === 'boot-changed') {
      out.push({ kind: 'error', message: `the agent restarted during the suite (boot ${n.previous.bootId} → ${n.bootId}): events it held may be lost`, observed: { bootId: n.bootId, previousBootId: n.previous.bootId } });
    }
  }
  return out;
}
