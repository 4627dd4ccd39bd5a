/**
 * `select:` narrows the VMs later input blocks, exec steps and agentConnected
 * go to (after the target's own selector and earlier `select:` steps). The
 * selector is checked now (a bad pattern is ATP_SCHEMA_INVALID); when the
 * target's pool already exists, the VMs it now picks are listed, and picking
 * none fails the step (ATP_RUN_NO_TARGETS). Before the pool exists (a later
 * createPool), the narrowing is only recorded.
 */
import { isAtpError, type SelectStep } from '@atp/protocol';
import { selectorMatcher } from '../../targets/index.js';
import { substitute, type StepContext, type StepDone } from './context.js';
import { currentSelection } from './selection.js';
import type { RunStepHandler } from './step-types.js';

async function poolExists(ctx: StepContext): Promise<boolean> {
  let pool: string;
  try {
    pool = substitute(ctx.target.pool, ctx, ['target', 'pool']);
  } catch (error) {
    if (isAtpError(error, 'ATP_SCENARIO_INVALID')) return false;
    throw error;
  }
  return (await ctx.client.pools({}, { signal: ctx.signal })).some((p) => p.id === pool || p.name === pool);
}

async function run(step: SelectStep, ctx: StepContext): Promise<StepDone> {
  const s = step.select;
  if (s.vms !== undefined) selectorMatcher(s.vms, 'select.vms');
  if (s.exclude !== undefined) selectorMatcher(s.exclude, 'select.exclude');
  ctx.filters.push({ vms: s.vms, exclude: s.exclude, limit: s.limit });
  if (!(await poolExists(ctx))) return {};
  const selection = await currentSelection(ctx);
  const names = [...selection.running.map((v) => v.name), ...selection.notRunning.map((v) => v.name)];
  return {
    vms: [...selection.running.map((v) => ({ vm: v.spec, ok: true, detail: 'selected, running' })), ...selection.notRunning.map((v) => ({ vm: v.name, ok: true, detail: `selected, platform status ${v.status}` }))],
    vars: { vms: names, value: names },
  };
}

function describe(step: SelectStep): string {
  const s = step.select;
  const parts = [s.vms === undefined ? undefined : `vms ${s.vms}`, s.exclude === undefined ? undefined : `exclude ${s.exclude}`, s.limit === undefined ? undefined : `limit ${s.limit}`].filter((p) => p !== undefined);
  return `select ${parts.length === 0 ? 'all' : parts.join(', ')}`;
}

export const SELECT_STEP: RunStepHandler<'select'> = { describe, run };
