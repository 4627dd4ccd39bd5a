/**
 * The page's control surface on `window.atpVerifier`, for the host (through a
 * browser automation or the URL hash) and for tests. Types only.
 */
import type { ObservedEvent } from '@atp/protocol';
import type { LinkStatus } from './link.js';

export interface VerifierControl {
  readonly protocolVersion: number;
  readonly agentId: string;
  readonly bootId: string;
  /** Shows the current suite step; null clears it. */
  setStep(text: string | null): void;
  /** Shows the PASS / FAIL banner; null hides it. */
  setVerdict(verdict: 'pass' | 'fail' | null, detail?: string): void;
  status(): LinkStatus | { state: 'unconfigured'; problems: string[] };
  /** Events observed so far (the last 1000), as sent. */
  events(): ObservedEvent[];
}

declare global {
  interface Window {
    atpVerifier?: VerifierControl;
  }
}
