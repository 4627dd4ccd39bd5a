/**
 * One function per input step action (type, press, …, repeat), keyed by the
 * step's action key, for code that treats each kind of step differently
 * (planning in plan-steps.ts, labels in describe-step.ts). The table's type has
 * a member for every `StepAction` of @atp/protocol, so adding a step kind to
 * the schema fails to compile until every table has an entry for it, instead
 * of falling through an if-chain. Pure.
 */
import { stepAction, type ScenarioStep, type StepAction } from '@atp/protocol';

/** The parsed step whose action key is `A` (e.g. StepOf<'click'> is ClickStep). */
export type StepOf<A extends StepAction> = Extract<ScenarioStep, Record<A, unknown>>;

/** A function for every action; each receives its own step type. */
export type StepTable<R, Args extends unknown[] = []> = { readonly [A in StepAction]: (step: StepOf<A>, ...args: Args) => R };

/** Calls the table's entry for `step`'s action. */
export function dispatchStep<R, Args extends unknown[]>(table: StepTable<R, Args>, step: ScenarioStep, ...args: Args): R {
  // stepAction found the step's one action key, so the step is that entry's StepOf<action>;
  // TypeScript cannot relate the two through the union, hence the one assertion here.
  const entry = table[stepAction(step)] as (step: ScenarioStep, ...args: Args) => R;
  return entry(step, ...args);
}
