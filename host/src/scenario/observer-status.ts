/**
 * Tells an observer with a display (the web verifier page) where the suite is:
 * the step being sent and, at the end, the verdict, as host → observer `status`
 * messages through the hub. Best effort: a page that is not connected misses
 * them (they are for the tester's eyes; the report is the record).
 */
import { agentMessage, type StatusBody, type SuiteReport } from '@atp/protocol';
import type { AgentHub } from '../hub/index.js';

export class ObserverStatus {
  private shown = -1;

  constructor(
    private readonly hub: AgentHub,
    private readonly agentId: string,
    private readonly suite: string,
    /** One label per top-level step (describe-step.ts stepLabels). */
    private readonly labels: readonly string[],
  ) {}

  start(): void {
    this.shown = -1;
    this.send({ step: null, verdict: 'running', detail: this.suite });
  }

  /** Shows top-level step `index` (once per change). */
  step(index: number): void {
    if (index === this.shown) return;
    this.shown = index;
    this.send({ step: { index, total: this.labels.length, name: (this.labels[index] ?? `step ${index + 1}`).slice(0, 256) } });
  }

  finish(report: SuiteReport): void {
    const verdict = report.verdict === 'pass' ? 'pass' : 'fail';
    const n = report.findings.length;
    const why = report.error !== undefined ? `error ${report.error.code}` : `${n} finding${n === 1 ? '' : 's'}${n === 0 ? '' : `: ${report.findings[0]?.message ?? ''}`}`;
    this.send({ verdict, detail: `${this.suite}: ${why}`.slice(0, 1024) });
  }

  private send(body: StatusBody): void {
    this.hub.send(this.agentId, agentMessage('status', body));
  }
}
