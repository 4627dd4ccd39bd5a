/**
 * Scenario format v2: a suite that acts on a VDI platform as well as typing.
 * Same rules as v1 (scenario.ts): a step is an object with exactly one action
 * key, unknown keys are errors naming their path. The input steps are v1's
 * (type, press, keyDown, keyUp, move, moveBy, click, drag, wheel, wait,
 * expect, repeat) and go to every selected VM of the target at once, through
 * the run engine; consecutive input steps form one block. The run steps act
 * once for the whole suite:
 *
 *  - `vdi:` one platform action: createPool, enablePool, disablePool,
 *    deletePool, start, shutdown, reboot, delete (VMs of a pool or named VMs),
 *    bindUser, connectionInfo (the SPICE/VNC details of a user's or the
 *    selected VMs);
 *  - `waitFor:` a condition with a timeout: every VM of a pool in a status,
 *    one VM in a status, every selected VM's agent connected;
 *  - `exec:` a command on every selected VM through the QEMU guest agent, with
 *    the exit code and an output pattern it must give (`powershell:` on
 *    Windows guests, sent as an encoded command);
 *  - `select:` narrows the VMs later input and exec steps go to.
 *
 * A run step may be named (`as: pool`) so later steps use what it produced:
 * `${pool.id}`, `${pool.name}`, `${conn.vms}` in any string value; the names
 * are checked when the suite loads (a use before its `as:` is an error).
 * A failed run step skips the rest of the suite except `vdi:` steps marked
 * `always: true` (cleanup).
 * Key names stay strings here; the host resolves them against the key table.
 */
import { z } from 'zod';
import { ObserverRefSchema, ScenarioDefaultsSchema, StepSchema, STEP_ACTIONS, DEFAULT_SCREEN, InjectorKindSchema, MouseModeSchema, type ScenarioStep } from './scenario.js';
import { toValidationIssues, typeName } from './validate.js';

const ms = z.number().min(0);
const positiveInt = z.number().int().positive();
const name = z.string().min(1).max(200);
const stepName = name.optional();
const asName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a name of letters, digits and _ (used as ${name.field})').optional();

/** Platform domain statuses by name (the platform's integers: shut off 0, running 1, suspended 2). */
export const VM_STATUS_NAMES = ['shut-off', 'running', 'suspended'] as const;
export type VmStatusName = (typeof VM_STATUS_NAMES)[number];

/** Which VMs a platform action or a wait is about: a pool (by name or id) or named VMs. */
export const VmSetSchema = z.union([
  name.transform((pool) => ({ pool })),
  z.strictObject({ pool: name }),
  z.strictObject({ vms: z.array(name).min(1) }),
]);
export type VmSet = { pool: string } | { vms: string[] };

const vmsAction = z.strictObject({ on: VmSetSchema, force: z.boolean().optional(), timeoutMs: ms.optional() });

export const VDI_ACTIONS = ['createPool', 'enablePool', 'disablePool', 'deletePool', 'start', 'shutdown', 'reboot', 'delete', 'bindUser', 'connectionInfo'] as const;
export type VdiActionName = (typeof VDI_ACTIONS)[number];

const vdiActionSchemas = {
  createPool: z.strictObject({
    name,
    /** The template (model) by name or id. */
    model: name,
    amount: z.number().int().min(1).max(1000),
    prefix: z.string().min(1).max(64).optional(),
    type: z.enum(['dedicated', 'shared', 'teaching']).default('dedicated'),
    remark: z.string().max(500).optional(),
    timeoutMs: ms.optional(),
  }),
  enablePool: z.strictObject({ pool: name }),
  disablePool: z.strictObject({ pool: name }),
  deletePool: z.strictObject({ pool: name, timeoutMs: ms.optional() }),
  start: vmsAction,
  shutdown: vmsAction,
  reboot: vmsAction,
  delete: z.strictObject({ on: VmSetSchema }),
  bindUser: z.strictObject({ on: VmSetSchema, user: name }),
  /** The display connection details (host, SPICE port and ticket, VNC port) of a user's VMs, or of a VM set. */
  connectionInfo: z.union([z.strictObject({ user: name }), z.strictObject({ on: VmSetSchema })]),
} satisfies Record<VdiActionName, z.ZodType>;

type VdiActionSchemas = typeof vdiActionSchemas;
export type VdiAction = { [K in VdiActionName]: { [P in K]: z.output<VdiActionSchemas[K]> } }[VdiActionName];

/** `vdi: { start: { on: desks } }`: exactly one action key. */
export const VdiActionSchema: z.ZodType<VdiAction> = oneKeyOf('platform action', vdiActionSchemas) as z.ZodType<VdiAction>;

export const WAIT_CONDITIONS = ['poolStatus', 'vmStatus', 'agentConnected'] as const;
const waitConditionSchemas = {
  /** Every VM of the pool has this status. */
  poolStatus: z.strictObject({ pool: name, status: z.enum(VM_STATUS_NAMES) }),
  vmStatus: z.strictObject({ vm: name, status: z.enum(VM_STATUS_NAMES) }),
  /** Every selected VM's agent has a session with the run's hub. */
  agentConnected: z.literal(true),
};
export type WaitCondition = { [K in keyof typeof waitConditionSchemas]: { [P in K]: z.output<(typeof waitConditionSchemas)[K]> } }[keyof typeof waitConditionSchemas];
const WaitConditionSchema = oneKeyOf('wait condition', waitConditionSchemas, ['timeoutMs', 'pollMs']);

export const ExecSchema = z
  .strictObject({
    /** argv: the program and its arguments, no shell. */
    command: z.array(z.string()).min(1).optional(),
    /** A PowerShell script, sent as `powershell -NoProfile -EncodedCommand` (Windows guests). */
    powershell: z.string().min(1).optional(),
    expectExit: z.number().int().default(0),
    /** A regular expression stdout must match. */
    expectOutput: z.string().optional(),
    timeoutMs: ms.optional(),
  })
  .refine((e) => (e.command === undefined) !== (e.powershell === undefined), { message: 'give exactly one of command (argv) or powershell' })
  .refine((e) => e.expectOutput === undefined || isRegExp(e.expectOutput), { message: 'expectOutput is not a valid regular expression', path: ['expectOutput'] });

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

export const SelectSchema = z.strictObject({ vms: name.optional(), exclude: name.optional(), limit: positiveInt.optional() });

export interface VdiStep { name?: string | undefined; as?: string | undefined; always?: boolean | undefined; vdi: VdiAction }
export interface WaitForStep { name?: string | undefined; waitFor: WaitCondition & { timeoutMs?: number | undefined; pollMs?: number | undefined } }
export interface ExecStep { name?: string | undefined; as?: string | undefined; exec: z.output<typeof ExecSchema> }
export interface SelectStep { name?: string | undefined; select: z.output<typeof SelectSchema> }
export type RunStep = VdiStep | WaitForStep | ExecStep | SelectStep;
export type ScenarioV2Step = ScenarioStep | RunStep;

const runStepSchemas = {
  /** always: runs even after an earlier step failed (cleanup: shutdown, delete). */
  vdi: z.strictObject({ name: stepName, as: asName, always: z.boolean().optional(), vdi: VdiActionSchema }),
  waitFor: z.strictObject({ name: stepName, waitFor: WaitConditionSchema }),
  exec: z.strictObject({ name: stepName, as: asName, exec: ExecSchema }),
  select: z.strictObject({ name: stepName, select: SelectSchema }),
};
export type RunStepAction = keyof typeof runStepSchemas;
export const RUN_STEP_ACTIONS: readonly RunStepAction[] = Object.keys(runStepSchemas) as RunStepAction[];

/** The action key of a parsed v2 run step, or undefined for an input step. */
export function runStepAction(step: ScenarioV2Step): RunStepAction | undefined {
  return RUN_STEP_ACTIONS.find((k) => Object.hasOwn(step, k));
}

/**
 * An object with exactly one of `schemas`' keys (plus `extra` keys beside it,
 * e.g. timeoutMs), parsed with that key's schema; issues keep their paths.
 */
function oneKeyOf(what: string, schemas: Record<string, z.ZodType>, extra: readonly string[] = []): z.ZodType {
  const keys = Object.keys(schemas);
  return z.unknown().transform((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: `expected a ${what} like { ${keys[0] ?? ''}: ... }, got ${typeName(value)}` });
      return z.NEVER;
    }
    const present = Object.keys(value).filter((k) => keys.includes(k));
    const others = Object.keys(value).filter((k) => !keys.includes(k) && !extra.includes(k));
    if (present.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `a ${what} needs exactly one of ${keys.join(', ')}; found ${present.length === 0 ? `none (keys: ${Object.keys(value).join(', ') || 'none'})` : present.join(', ')}` });
      return z.NEVER;
    }
    for (const k of others) ctx.addIssue({ code: 'custom', path: [k], message: `unknown ${what} key (allowed: ${[...keys, ...extra].join(', ')})` });
    if (others.length > 0) return z.NEVER;
    const key = present[0] ?? '';
    const record = value as Record<string, unknown>;
    const result = schemas[key]?.safeParse(record[key], { reportInput: true });
    if (result === undefined) return z.NEVER;
    if (!result.success) {
      for (const issue of toValidationIssues(result.error.issues)) ctx.addIssue({ code: 'custom', path: [key, ...issue.path], message: issue.message, params: { code: issue.code } });
      return z.NEVER;
    }
    const out: Record<string, unknown> = { [key]: result.data };
    for (const k of extra) {
      if (record[k] === undefined) continue;
      const n = ms.safeParse(record[k]);
      if (!n.success) {
        ctx.addIssue({ code: 'custom', path: [k], message: `expected milliseconds (a number ≥ 0), got ${typeName(record[k])}` });
        return z.NEVER;
      }
      out[k] = n.data;
    }
    return out;
  });
}

/** A v2 step: a run step (vdi, waitFor, exec, select) or a v1 input step. */
export const StepV2Schema: z.ZodType<ScenarioV2Step> = z.unknown().transform((value, ctx): ScenarioV2Step => {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const runKeys = isObject ? RUN_STEP_ACTIONS.filter((k) => Object.hasOwn(value, k)) : [];
  const inputKeys = isObject ? STEP_ACTIONS.filter((k) => Object.hasOwn(value, k)) : [];
  if (isObject && runKeys.length + inputKeys.length !== 1) {
    const found = [...runKeys, ...inputKeys];
    const keys = Object.keys(value);
    ctx.addIssue({
      code: 'custom',
      message: `a step needs exactly one action (${[...RUN_STEP_ACTIONS, ...STEP_ACTIONS].join(', ')}); ${found.length === 0 ? `found none${keys.length > 0 ? ` (keys: ${keys.join(', ')})` : ''}` : `found ${found.length}: ${found.join(', ')}`}`,
    });
    return z.NEVER;
  }
  const schema: z.ZodType = runKeys[0] === undefined ? StepSchema : runStepSchemas[runKeys[0]];
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data as ScenarioV2Step;
  for (const issue of toValidationIssues(result.error.issues)) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message, params: { code: issue.code } });
  return z.NEVER;
});

export const ScenarioV2TargetSchema = z.strictObject({
  /** A platforms.yaml name (the CLI's --platform overrides it). */
  platform: name,
  /** The desk pool whose VMs input, exec and agentConnected go to (may use ${name.field}). */
  pool: name,
  /** Narrow the pool's VMs: a selector (glob, re:REGEX, comma list), an exclusion, a count. */
  vms: name.optional(),
  exclude: name.optional(),
  limit: positiveInt.optional(),
  injector: InjectorKindSchema.default('qmp'),
  mouseMode: MouseModeSchema.optional(),
  layout: z.string().min(1).default('us'),
  screen: z.strictObject({ width: positiveInt, height: positiveInt }).default({ ...DEFAULT_SCREEN }),
  /** VMs verified at once (default all). */
  concurrency: positiveInt.optional(),
});
export type ScenarioV2Target = z.output<typeof ScenarioV2TargetSchema>;

export const ScenarioV2Schema = z.strictObject({
  version: z.literal(2),
  name,
  description: z.string().optional(),
  target: ScenarioV2TargetSchema,
  observer: ObserverRefSchema,
  defaults: ScenarioDefaultsSchema.optional(),
  steps: z.array(StepV2Schema).min(1),
});
export type ScenarioV2 = z.output<typeof ScenarioV2Schema>;

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}/g;

/** Every `${name.field}` in the string values of `value`, with its path. */
export function variableUses(value: unknown, path: (string | number)[] = []): { name: string; field: string | undefined; path: (string | number)[] }[] {
  if (typeof value === 'string') return [...value.matchAll(VAR)].map((m) => ({ name: m[1] ?? '', field: m[2], path }));
  if (Array.isArray(value)) return value.flatMap((v, i) => variableUses(v, [...path, i]));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => variableUses(v, [...path, k]));
  return [];
}

/** Replaces `${name.field}` in every string of `value` from `vars`; throws (with the path) on a name it does not have. */
export function substituteVariables<T>(value: T, vars: Readonly<Record<string, Readonly<Record<string, unknown>>>>, path: (string | number)[] = []): T {
  if (typeof value === 'string') {
    return value.replace(VAR, (whole, n: string, field: string | undefined) => {
      const v = vars[n];
      const picked: unknown = v === undefined ? undefined : field === undefined ? v['value'] : v[field];
      if (picked === undefined) throw new Error(`${path.join('.')}: ${whole} is not defined (defined: ${Object.keys(vars).join(', ') || 'none'})`);
      return Array.isArray(picked) ? picked.map(String).join(',') : String(picked);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteVariables(v, vars, [...path, i]) as unknown) as T;
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteVariables(v, vars, [...path, k])])) as T;
  return value;
}

/**
 * Each `${name.field}` must name a step's `as:` that comes before it (the
 * target may use any name: it is resolved when the first input step runs).
 * The issues carry paths for file:line:column.
 */
export function checkScenarioV2Variables(scenario: ScenarioV2): { path: (string | number)[]; message: string }[] {
  const defined: string[] = [];
  const issues: { path: (string | number)[]; message: string }[] = [];
  const all = scenario.steps.flatMap((s) => ('as' in s && typeof s.as === 'string' ? [s.as] : []));
  for (const use of variableUses(scenario.target, ['target'])) {
    if (!all.includes(use.name)) issues.push({ path: use.path, message: `\${${use.name}${use.field === undefined ? '' : `.${use.field}`}} names no step's as: (names: ${all.join(', ') || 'none'})` });
  }
  scenario.steps.forEach((step, i) => {
    for (const use of variableUses(step, ['steps', i])) {
      if (!defined.includes(use.name)) issues.push({ path: use.path, message: `\${${use.name}${use.field === undefined ? '' : `.${use.field}`}} is used before a step defines it with as: ${use.name}` });
    }
    if ('as' in step && typeof step.as === 'string') {
      if (defined.includes(step.as)) issues.push({ path: ['steps', i, 'as'], message: `as: ${step.as} is already defined by an earlier step` });
      defined.push(step.as);
    }
  });
  return issues;
}
