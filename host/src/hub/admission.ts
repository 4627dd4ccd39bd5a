/**
 * Admission control for the hub's listeners, against abuse: connections that
 * have not completed hello are counted hub-wide and per remote address
 * (PendingHellos), and addresses that keep presenting bad tokens are throttled
 * (AuthThrottle), so a flood of idle or unauthenticated sockets can neither
 * fill the session table nor burn the CPU on token checks and refusal records.
 * Pure bookkeeping: the hub decides what to cut; times are monotonic ms.
 */

/** The address part of a connection's `remote` ("127.0.0.1:5342" → "127.0.0.1", "::1:5342" → "::1"); a socket path stays whole. */
export function remoteAddress(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon <= 0 || !/^\d+$/.test(remote.slice(colon + 1)) ? remote : remote.slice(0, colon);
}

/**
 * Connections awaiting hello, oldest first, with a count per address. The hub
 * refuses a new one from an address already holding `perAddress`, and evicts
 * the oldest hub-wide once more than `total` wait, so a legitimate agent (which
 * sends hello right after connecting) keeps getting in.
 */
export class PendingHellos<T> {
  private readonly order = new Map<T, string>();
  private readonly perAddress = new Map<string, number>();

  get size(): number {
    return this.order.size;
  }

  countFor(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  add(item: T, address: string): void {
    if (this.order.has(item)) return;
    this.order.set(item, address);
    this.perAddress.set(address, this.countFor(address) + 1);
  }

  delete(item: T): void {
    const address = this.order.get(item);
    if (address === undefined) return;
    this.order.delete(item);
    const left = this.countFor(address) - 1;
    if (left <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, left);
  }

  /** The one waiting longest. */
  oldest(): T | undefined {
    for (const item of this.order.keys()) return item;
    return undefined;
  }
}

export interface AuthThrottleOptions {
  /** Refused hellos an address may send in a burst before it is throttled. */
  burst: number;
  /** How fast its budget refills, refusals per second. */
  perSecond: number;
  /** Most addresses remembered (the least recently refused are forgotten first). */
  maxAddresses: number;
}

interface Budget {
  tokens: number;
  last: number;
}

/**
 * A token bucket of refused hellos per remote address. While an address's
 * bucket is empty its connections are refused up front (ATP_HUB_AUTH_THROTTLED)
 * without a token check or a refusal record; throttled attempts do not drain it
 * further, so it opens again at `perSecond` once the flood stops being answered.
 */
export class AuthThrottle {
  private readonly budgets = new Map<string, Budget>();

  constructor(private readonly options: AuthThrottleOptions) {}

  get addresses(): number {
    return this.budgets.size;
  }

  /** Whether the address has no refusal left in its budget. */
  blocked(address: string, now: number): boolean {
    const budget = this.budgets.get(address);
    if (budget === undefined) return false;
    this.refill(budget, now);
    if (budget.tokens >= this.options.burst) this.budgets.delete(address);
    return budget.tokens < 1;
  }

  /** Records a refused hello from the address. */
  refused(address: string, now: number): void {
    const budget = this.budgets.get(address) ?? { tokens: this.options.burst, last: now };
    this.refill(budget, now);
    budget.tokens = Math.max(0, budget.tokens - 1);
    // Re-inserted last: the map's order is least recently refused first.
    this.budgets.delete(address);
    this.budgets.set(address, budget);
    while (this.budgets.size > this.options.maxAddresses) {
      const first = this.budgets.keys().next();
      if (first.done === true) break;
      this.budgets.delete(first.value);
    }
  }

  private refill(budget: Budget, now: number): void {
    const elapsed = Math.max(0, now - budget.last) / 1000;
    budget.last = now;
    budget.tokens = Math.min(this.options.burst, budget.tokens + elapsed * this.options.perSecond);
  }
}
