/**
 * What every run step of a v2 suite (vdi, waitFor, exec, select) works with,
 * and what it hands back. The suite runner (platform-suite.ts) owns one
 * `StepContext` for the whole suite: the platform client, the run's hub and
 * host connections, the variables named by `as:` and the VM filters of the
 * target and the `select:` steps so far. A handler returns a `StepDone`; a
 * failure is an AtpError, either thrown (nothing per VM to tell) or returned
 * in `error` beside the per-VM results.
 */
import { AtpError, isAtpError, substituteVariables, type PlatformStepResult, type ScenarioV2Target } from '@atp/protocol';
import type { ConfigLocation } from '../../config/paths.js';
import type { EffectivePlatform } from '../../config/platforms-file.js';
import type { AgentHub } from '../../hub/index.js';
import type { HostConnections } from '../../targets/index.js';
import { listNames as vdiListNames, type OCloudClient } from '../../vdi/index.js';

export type VmResult = NonNullable<PlatformStepResult['vms']>[number];

/** What `as:` names: `${name.field}` reads a field, `${name}` reads `value`. */
export type StepVars = Record<string, Record<string, unknown>>;

/** One narrowing of the pool's VMs: the target's own, then each `select:` step's, applied in order. */
export interface VmFilter {
  vms?: string | undefined;
  exclude?: string | undefined;
  limit?: number | undefined;
}

export interface StepContext {
  readonly client: OCloudClient;
  readonly platform: EffectivePlatform;
  /** The token the pool's agents present (the hub accepts it). */
  readonly token: string;
  readonly hub: AgentHub;
  readonly connections: HostConnections;
  readonly location: ConfigLocation;
  /** The suite's target (pool and selector may hold `${…}`, resolved when used). */
  readonly target: ScenarioV2Target;
  /** The suite file, for messages. */
  readonly source: string;
  readonly vars: StepVars;
  /** `select:` filters so far, after the target's own selector. */
  readonly filters: VmFilter[];
  /** Stops the step (the run's signal; a fresh one for `always:` steps after an abort). */
  readonly signal: AbortSignal;
  log(line: string): void;
}

export interface StepDone {
  vms?: VmResult[];
  /** Stored under the step's `as:` name. */
  vars?: Record<string, unknown>;
  /** The step failed (per-VM results still reported). */
  error?: AtpError;
  /** The step checked the guests (exec ran and its result was compared): counts as something verified for the exit code. */
  verified?: boolean;
}

/** Default deadlines of platform actions and waits (TCG guests on a busy host are slow). */
export const DEFAULT_TASK_MS = 300_000;
export const DEFAULT_EXEC_MS = 60_000;

/** The call options every client call of a step gets. */
export function callOptions(ctx: StepContext): { signal: AbortSignal } {
  return { signal: ctx.signal };
}

/** Any thrown value as an AtpError (a non-ATP error becomes ATP_RUN_TARGET naming what failed). */
export function asAtpError(error: unknown, what: string): AtpError {
  if (isAtpError(error)) return error;
  return new AtpError('ATP_RUN_TARGET', `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** At most 10 names, then how many more (vdi/names.ts's listNames). */
export const listNames = (names: readonly string[]): string => vdiListNames(names, 10);

/** Runs `fn` over `items` with at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  return results;
}

/** `${name.field}` replaced from the variables known now; an unknown one is ATP_SCENARIO_INVALID naming the path. */
export function substitute<T>(value: T, ctx: Pick<StepContext, 'vars' | 'source'>, path: (string | number)[]): T {
  const { source } = ctx;
  try {
    return substituteVariables(value, ctx.vars, path);
  } catch (error) {
    throw new AtpError('ATP_SCENARIO_INVALID', `${source}: ${error instanceof Error ? error.message : String(error)}`, { cause: error, details: { source, path } });
  }
}
