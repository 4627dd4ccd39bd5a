/**
 * SimFaults: failures a real platform shows now and then but a test cannot
 * make it produce on demand: an HTTP 500 with a non-envelope body, a call that
 * never answers, a batch task refused for one VM, a start that "succeeds" but
 * never runs, tokens expiring. The server consults `intercept` before anything
 * else (also before the token check); the batch routes and the task runner
 * consult the per-domain faults.
 */
import type { SimFaults, SimRequestMatch } from './types.js';

interface HttpFailure {
  match: SimRequestMatch;
  left: number;
}

interface Hang {
  match: SimRequestMatch;
  waiting: Set<() => void>;
}

export type Interception = { kind: 'fail' } | { kind: 'hang'; released: Promise<void> } | undefined;

function matches(match: SimRequestMatch, method: string, path: string): boolean {
  if (match.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
  match.path.lastIndex = 0;
  return match.path.test(path);
}

export class FaultState implements SimFaults {
  private readonly failures: HttpFailure[] = [];
  private readonly hangs = new Set<Hang>();
  private readonly batchErrors = new Map<string, string>();
  private readonly notRunning = new Set<string>();

  constructor(private readonly expire: () => void) {}

  failHttp(match: SimRequestMatch, times = 1): void {
    if (Number.isInteger(times) && times > 0) this.failures.push({ match, left: times });
  }

  hang(match: SimRequestMatch): () => void {
    const hang: Hang = { match, waiting: new Set() };
    this.hangs.add(hang);
    return () => {
      this.hangs.delete(hang);
      for (const release of hang.waiting) release();
      hang.waiting.clear();
    };
  }

  batchError(domainId: string, errorMsg: string): void {
    this.batchErrors.set(domainId, errorMsg);
  }

  neverRunning(domainId: string): void {
    this.notRunning.add(domainId);
  }

  expireTokens(): void {
    this.expire();
  }

  /** What happens to a request before it is handled: an HTTP 500, a hang until released, or nothing. */
  intercept(method: string, path: string): Interception {
    const failure = this.failures.find((f) => matches(f.match, method, path));
    if (failure) {
      failure.left -= 1;
      if (failure.left <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      return { kind: 'fail' };
    }
    for (const hang of this.hangs) {
      if (matches(hang.match, method, path)) return { kind: 'hang', released: new Promise((resolve) => hang.waiting.add(resolve)) };
    }
    return undefined;
  }

  /** The errorMsg of a pending batchError for this domain (consumed). */
  takeBatchError(domainId: string): string | undefined {
    const msg = this.batchErrors.get(domainId);
    this.batchErrors.delete(domainId);
    return msg;
  }

  isNeverRunning(domainId: string): boolean {
    return this.notRunning.has(domainId);
  }

  /** Lets every hung call go (at close). */
  releaseAll(): void {
    for (const hang of this.hangs) {
      for (const release of hang.waiting) release();
      hang.waiting.clear();
    }
    this.hangs.clear();
  }
}
