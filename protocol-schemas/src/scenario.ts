/**
 * Scenario format v1: a suite as written in YAML (the host parses the YAML and
 * hands the plain value here). Every step is an object with exactly one action
 * key (`press: ctrl+c`, `click: left`, ...) plus a few options beside it, so a
 * suite reads naturally; schemas are hand-written because the format is ours.
 *
 * Unknown fields are errors everywhere: the file is written by a person and an
 * unknown key is a typo. Errors name the path (`steps[3].click`); the same path
 * as an array is in `details.issues[].path` for mapping to a line and column.
 * Key names stay strings here; the host resolves them against the key table.
 */
import { z } from 'zod';
import { parseWith, toValidationIssues, typeName } from './validate.js';

const ms = z.number().min(0);
const positiveInt = z.number().int().positive();
const stepName = z.string().min(1).max(200).optional();
const point = z.strictObject({ x: z.number().min(0), y: z.number().min(0) });

/** One key name, e.g. "shift", "a", "KEY_A", "f5". */
export const StepKeyNameSchema = z.string().regex(/^[^\s+]+$/, 'expected one key name without spaces or +');
/** Key names joined by +, pressed together and released in reverse: "ctrl+alt+delete". */
export const StepKeyComboSchema = z.string().regex(/^[^\s+]+(\+[^\s+]+)*$/, 'expected key names joined by +, e.g. "ctrl+alt+delete"');

export const SCENARIO_BUTTONS = ['left', 'right', 'middle'] as const;
const button = z.enum(SCENARIO_BUTTONS);

const actionSchemas = {
  type: z.strictObject({ name: stepName, type: z.string().min(1), holdMs: ms.optional(), gapMs: ms.optional(), layout: z.string().min(1).optional() }),
  press: z.strictObject({
    name: stepName,
    /** Always an array once parsed. */
    press: z.union([StepKeyComboSchema, z.array(StepKeyComboSchema).min(1)]).transform((p) => (typeof p === 'string' ? [p] : p)),
    holdMs: ms.optional(),
  }),
  keyDown: z.strictObject({ name: stepName, keyDown: StepKeyNameSchema }),
  keyUp: z.strictObject({ name: stepName, keyUp: StepKeyNameSchema }),
  /** Absolute pointer position in screen pixels. */
  move: z.strictObject({ name: stepName, move: point }),
  /** Relative pointer motion in pixels. */
  moveBy: z.strictObject({ name: stepName, moveBy: z.strictObject({ dx: z.number().int(), dy: z.number().int() }) }),
  click: z.strictObject({ name: stepName, click: button, at: point.optional(), count: z.number().int().min(1).max(3).default(1) }),
  drag: z.strictObject({ name: stepName, drag: z.strictObject({ from: point, to: point, button: button.default('left') }) }),
  /** Wheel notches; positive dy scrolls down. */
  wheel: z.strictObject({ name: stepName, wheel: z.strictObject({ dy: z.number().int(), dx: z.number().int().default(0) }) }),
  /** Milliseconds. */
  wait: z.strictObject({ name: stepName, wait: ms }),
  expect: z.strictObject({
    name: stepName,
    expect: z.strictObject({
      keys: z.enum(['exact', 'ignore']).optional(),
      text: z.string().optional(),
      pointer: z.strictObject({ x: z.number(), y: z.number(), tolerancePx: ms.optional() }).optional(),
      timeoutMs: ms.optional(),
      latencyP95Ms: ms.optional(),
    }),
  }),
};

type ActionSchemas = typeof actionSchemas;
export type StepAction = keyof ActionSchemas | 'repeat';

export type TypeStep = z.output<ActionSchemas['type']>;
export type PressStep = z.output<ActionSchemas['press']>;
export type KeyDownStep = z.output<ActionSchemas['keyDown']>;
export type KeyUpStep = z.output<ActionSchemas['keyUp']>;
export type MoveStep = z.output<ActionSchemas['move']>;
export type MoveByStep = z.output<ActionSchemas['moveBy']>;
export type ClickStep = z.output<ActionSchemas['click']>;
export type DragStep = z.output<ActionSchemas['drag']>;
export type WheelStep = z.output<ActionSchemas['wheel']>;
export type WaitStep = z.output<ActionSchemas['wait']>;
export type ExpectStep = z.output<ActionSchemas['expect']>;
export interface RepeatStep {
  name?: string | undefined;
  repeat: { times: number; steps: ScenarioStep[] };
}
export type ScenarioStep =
  | TypeStep | PressStep | KeyDownStep | KeyUpStep | MoveStep | MoveByStep
  | ClickStep | DragStep | WheelStep | WaitStep | ExpectStep | RepeatStep;

const repeatSchema: z.ZodType<RepeatStep> = z.strictObject({
  name: stepName,
  repeat: z.strictObject({
    times: z.number().int().min(1).max(100_000),
    steps: z.array(z.lazy((): z.ZodType<ScenarioStep> => StepSchema)).min(1),
  }),
});

/** Every action, its schema and the keys a step with that action may carry. */
const STEP_KINDS = new Map<StepAction, { schema: z.ZodType; keys: readonly string[] }>([
  ...Object.entries(actionSchemas).map(([action, schema]) => [action as StepAction, { schema, keys: Object.keys(schema.shape) }] as const),
  ['repeat', { schema: repeatSchema, keys: ['name', 'repeat'] }],
]);
export const STEP_ACTIONS: readonly StepAction[] = [...STEP_KINDS.keys()];

/** The action key of a parsed step. */
export function stepAction(step: ScenarioStep): StepAction {
  const found = STEP_ACTIONS.find((k) => Object.hasOwn(step, k));
  if (found === undefined) throw new TypeError('not a parsed scenario step');
  return found;
}

/**
 * A step: finds its one action key, checks the options beside it, then parses
 * it with that action's schema (issues keep their paths, prefixed by zod).
 */
export const StepSchema: z.ZodType<ScenarioStep> = z.unknown().transform((value, ctx): ScenarioStep => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: `expected a step object like { press: "ctrl+c" }, got ${typeName(value)}` });
    return z.NEVER;
  }
  const keys = Object.keys(value);
  const actions = STEP_ACTIONS.filter((k) => keys.includes(k));
  const [action] = actions;
  if (action === undefined || actions.length > 1) {
    const found = action === undefined ? `found none${keys.length > 0 ? ` (keys: ${keys.join(', ')})` : ''}` : `found ${actions.length}: ${actions.join(', ')}`;
    ctx.addIssue({ code: 'custom', message: `a step needs exactly one action (${STEP_ACTIONS.join(', ')}); ${found}` });
    return z.NEVER;
  }
  const kind = STEP_KINDS.get(action);
  if (kind === undefined) return z.NEVER;
  const { schema, keys: allowed } = kind;
  let unknownOption = false;
  for (const key of keys.filter((k) => !allowed.includes(k))) {
    unknownOption = true;
    ctx.addIssue({ code: 'custom', path: [key], message: `unknown option for a ${action} step (allowed: ${allowed.filter((k) => k !== action).join(', ')})` });
  }
  if (unknownOption) return z.NEVER;
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data as ScenarioStep;
  for (const issue of toValidationIssues(result.error.issues)) {
    ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message, params: { code: issue.code } });
  }
  return z.NEVER;
});

/** Who observes the guest: an agent or the web verifier, optionally a specific one. */
export const ObserverSchema = z.strictObject({ kind: z.enum(['agent', 'web']), id: z.string().min(1).max(128).optional() });
export type Observer = z.output<typeof ObserverSchema>;
/** In a suite, `observer: agent` is short for `observer: { kind: agent }`. */
export const ObserverRefSchema = z
  .union([ObserverSchema.shape.kind, ObserverSchema])
  .transform((o): Observer => (typeof o === 'string' ? { kind: o } : o));

export const DEFAULT_SCREEN = { width: 1024, height: 768 } as const;

/**
 * How input enters the VM: qmp (QEMU's monitor, input-send-event), or as a thin
 * client would, through QEMU's display server: spice (the SPICE inputs channel)
 * or vnc (RFB). The CLI's --injector overrides a suite's choice.
 */
export const InjectorKindSchema = z.enum(['qmp', 'spice', 'vnc']);
export type InjectorKind = z.output<typeof InjectorKindSchema>;
/** SPICE's mouse modes: client (absolute positions; needs an absolute device in the guest) or server (relative motion). */
export const MouseModeSchema = z.enum(['client', 'server']);
export type MouseMode = z.output<typeof MouseModeSchema>;

export const ScenarioTargetSchema = z.strictObject({
  /** VM name (libvirt domain or lab VM). */
  vm: z.string().min(1),
  /** Where the VM runs; absent = this machine. */
  host: z.string().min(1).optional(),
  injector: InjectorKindSchema.default('qmp'),
  /** SPICE only: the mouse mode to ask for (default client). */
  mouseMode: MouseModeSchema.optional(),
  /** Guest keyboard layout, used to turn text into keys. */
  layout: z.string().min(1).default('us'),
  /** Guest screen size in pixels, for absolute pointer positions. */
  screen: z.strictObject({ width: positiveInt, height: positiveInt }).default({ ...DEFAULT_SCREEN }),
});
export type ScenarioTarget = z.output<typeof ScenarioTargetSchema>;

export const ScenarioDefaultsSchema = z.strictObject({
  holdMs: ms.optional(),
  gapMs: ms.optional(),
  timeoutMs: ms.optional(),
  /** open: send at the set rate; closed: wait for the observer to see each action. */
  pacing: z.enum(['open', 'closed']).optional(),
  maxInFlight: positiveInt.optional(),
  /** Open loop at this many keystrokes/s, or at the rate `atp-host calibrate` stored for the VM and injector. */
  rate: z.union([z.number().positive().max(10_000), z.literal('calibrated')]).optional(),
});

export const ScenarioV1Schema = z.strictObject({
  version: z.literal(1),
  name: z.string().min(1).max(200),
  description: z.string().optional(),
  target: ScenarioTargetSchema,
  observer: ObserverRefSchema,
  defaults: ScenarioDefaultsSchema.optional(),
  steps: z.array(StepSchema).min(1),
});

export type ScenarioV1 = z.output<typeof ScenarioV1Schema>;
export type ScenarioV1Input = z.input<typeof ScenarioV1Schema>;

/** Validates a parsed suite (e.g. from YAML) and fills defaults; throws ATP_SCHEMA_INVALID naming the path. */
export function parseScenario(value: unknown, source?: string): ScenarioV1 {
  return parseWith(ScenarioV1Schema, value, { source, what: 'scenario' });
}
