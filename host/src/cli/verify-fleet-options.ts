/**
 * The fleet flags of `atp-host verify`: --concurrent N, --loop N,
 * --duration 30m|90s|2h, --on-failure continue|stop-all|fail-fast, --count N
 * (lab VMs), --exclude SELECTOR, --limit N. Pure parsing; usage errors are
 * ATP_SCHEMA_INVALID naming the flag (exit 2).
 */
import { AtpError, RUN_FAILURE_POLICIES, type RunFailurePolicy } from '@atp/protocol';

export interface FleetFlags {
  concurrent?: string;
  loop?: string;
  duration?: string;
  onFailure?: string;
  count?: string;
  bootConcurrency?: string;
  exclude?: string;
  limit?: string;
}

export interface FleetSettings {
  concurrency?: number;
  rounds?: number;
  durationMs?: number;
  onFailure: RunFailurePolicy;
  count?: number;
  bootConcurrency?: number;
  exclude?: string;
  limit?: number;
}

const usage = (flag: string, value: string, why: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `${flag} ${JSON.stringify(value)}: ${why}`, { details: { field: flag, value } });

function positive(value: string | undefined, flag: string, max = 10_000): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1 || n > max) throw usage(flag, value, `expected a whole number from 1 to ${max}`);
  return n;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30m", "90s", "1.5h", "500ms", "45" (seconds) → ms. */
export function parseDuration(value: string, flag = '--duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (m === null) throw usage(flag, value, 'expected a duration such as 90s, 30m or 2h');
  const ms = Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms) || ms <= 0) throw usage(flag, value, 'expected a duration above zero');
  return Math.round(ms);
}

export function parseFleetFlags(flags: FleetFlags): FleetSettings {
  const onFailure = flags.onFailure ?? 'continue';
  if (!(RUN_FAILURE_POLICIES as readonly string[]).includes(onFailure)) throw usage('--on-failure', onFailure, `expected one of ${RUN_FAILURE_POLICIES.join(', ')}`);
  const concurrency = positive(flags.concurrent, '--concurrent', 1000);
  const rounds = positive(flags.loop, '--loop', 1_000_000);
  const count = positive(flags.count, '--count', 500);
  const limit = positive(flags.limit, '--limit', 100_000);
  const bootConcurrency = positive(flags.bootConcurrency, '--boot-concurrency', 500);
  const durationMs = flags.duration === undefined ? undefined : parseDuration(flags.duration);
  if (flags.exclude === '') throw usage('--exclude', '', 'expected a selector');
  return {
    onFailure: onFailure as RunFailurePolicy,
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(rounds === undefined ? {} : { rounds }),
    ...(durationMs === undefined ? {} : { durationMs }),
    ...(count === undefined ? {} : { count }),
    ...(bootConcurrency === undefined ? {} : { bootConcurrency }),
    ...(flags.exclude === undefined ? {} : { exclude: flags.exclude }),
    ...(limit === undefined ? {} : { limit }),
  };
}
