/**
 * Observed input events: what an agent or the web verifier saw arrive in the
 * guest, one discriminated union on `kind`. Carried in the `events` message of
 * the agent protocol (agent-protocol.ts, which documents the unknown-field policy
 * these schemas follow: unknown fields are stripped, never passed on).
 *
 * Every event has `seq` (per boot id, strictly increasing from 1), `t` (guest
 * time in ms on the agent's clock, the clock of its pong t2/t3) and `device`
 * (a device id; '' for the page). Losses are events too (`sync-dropped`), never
 * hidden.
 */
import { z } from 'zod';

/** Longest id, name or key string we accept in an event. */
const MAX_ID = 256;
/** Longest `text` / composition `data` in one event. */
export const MAX_EVENT_TEXT = 4096;

const id = z.string().max(MAX_ID);
const seq = z.number().int().min(1);

export const AxisRangeSchema = z
  .object({ xMin: z.number(), xMax: z.number(), yMin: z.number(), yMax: z.number() })
  .superRefine((r, ctx) => {
    if (r.xMin > r.xMax) ctx.addIssue({ code: 'custom', path: ['xMax'], message: 'xMax must be >= xMin' });
    if (r.yMin > r.yMax) ctx.addIssue({ code: 'custom', path: ['yMax'], message: 'yMax must be >= yMin' });
  });
export type AxisRange = z.output<typeof AxisRangeSchema>;

export const DEVICE_KINDS = ['keyboard', 'pointer-relative', 'pointer-absolute', 'touch', 'other'] as const;

export const DeviceInfoSchema = z.object({
  id: id.min(1),
  name: z.string().max(MAX_ID),
  kind: z.enum(DEVICE_KINDS),
  bus: z.string().max(MAX_ID).optional(),
  phys: z.string().max(MAX_ID).optional(),
  absRange: AxisRangeSchema.optional(),
});
export type DeviceInfo = z.output<typeof DeviceInfoSchema>;

/** Canonical key id: the Linux evdev name (KEY_A, KEY_LEFTSHIFT, BTN_LEFT). */
export const EVENT_KEY_PATTERN = /^(KEY|BTN)_[A-Z0-9_]+$/;
export const EventKeySchema = z.string().max(64).regex(EVENT_KEY_PATTERN, 'expected a canonical key id like KEY_A');

export const NAMED_BUTTONS = ['left', 'right', 'middle', 'side', 'extra', 'forward', 'back', 'task'] as const;
export type NamedButton = (typeof NAMED_BUTTONS)[number];
export type ButtonName = NamedButton | `BTN_${string}`;
const BUTTON_ID_PATTERN = /^BTN_[A-Z0-9_]+$/;

export function isButtonName(value: unknown): value is ButtonName {
  return (
    typeof value === 'string' &&
    ((NAMED_BUTTONS as readonly string[]).includes(value) || (value.length <= 64 && BUTTON_ID_PATTERN.test(value)))
  );
}

export const ButtonNameSchema = z.custom<ButtonName>(isButtonName, {
  message: `expected a button (${NAMED_BUTTONS.join(', ')}) or a BTN_* id`,
});

const base = { seq, t: z.number(), device: id };

export const KeyEventSchema = z.object({
  ...base,
  kind: z.literal('key'),
  key: EventKeySchema,
  /** 'repeat' is the guest's autorepeat, kept distinct from 'down'. */
  action: z.enum(['down', 'up', 'repeat']),
  native: z
    .object({
      evdev: z.number().int().optional(),
      scancode: z.number().int().optional(),
      vk: z.number().int().optional(),
      domCode: z.string().max(64).optional(),
      domKey: z.string().max(64).optional(),
      location: z.number().int().optional(),
    })
    .optional(),
  /** Active modifiers as the observer saw them: shift, ctrl, alt, meta, altgr, capslock, numlock. */
  modifiers: z.array(z.string().min(1).max(32)).max(32).optional(),
});

export const ButtonEventSchema = z.object({
  ...base,
  kind: z.literal('button'),
  button: ButtonNameSchema,
  action: z.enum(['down', 'up']),
  x: z.number().optional(),
  y: z.number().optional(),
});

export const RelEventSchema = z.object({ ...base, kind: z.literal('rel'), dx: z.number().int(), dy: z.number().int() });

export const AbsEventSchema = z.object({
  ...base,
  kind: z.literal('abs'),
  x: z.number(),
  y: z.number(),
  range: AxisRangeSchema.optional(),
});

export const WheelEventSchema = z.object({
  ...base,
  kind: z.literal('wheel'),
  dx: z.number().default(0),
  dy: z.number(),
  /** High-resolution units: 120 per notch. */
  hiRes: z.object({ dx: z.number(), dy: z.number() }).optional(),
});

export const SyncDroppedEventSchema = z.object({
  ...base,
  kind: z.literal('sync-dropped'),
  lost: z.number().int().min(0).optional(),
});

export const TextEventSchema = z.object({
  ...base,
  kind: z.literal('text'),
  text: z.string().max(MAX_EVENT_TEXT),
  inputType: z.string().max(64).optional(),
  composing: z.boolean().optional(),
});

export const CompositionEventSchema = z.object({
  ...base,
  kind: z.literal('composition'),
  phase: z.enum(['start', 'update', 'end']),
  data: z.string().max(MAX_EVENT_TEXT),
});

export const FocusEventSchema = z.object({
  ...base,
  kind: z.literal('focus'),
  state: z.enum(['focus', 'blur', 'visible', 'hidden']),
});

export const DeviceEventSchema = z.object({
  ...base,
  kind: z.literal('device'),
  change: z.enum(['added', 'removed']),
  info: DeviceInfoSchema,
});

export const ObservedEventSchema = z.discriminatedUnion('kind', [
  KeyEventSchema,
  ButtonEventSchema,
  RelEventSchema,
  AbsEventSchema,
  WheelEventSchema,
  SyncDroppedEventSchema,
  TextEventSchema,
  CompositionEventSchema,
  FocusEventSchema,
  DeviceEventSchema,
]);

export type ObservedEvent = z.output<typeof ObservedEventSchema>;
/** What a producer may write: defaults (wheel dx) may be left out. */
export type ObservedEventInput = z.input<typeof ObservedEventSchema>;
export type ObservedEventKind = ObservedEvent['kind'];
// Type names carry an `Observed` prefix so they never shadow the DOM's KeyboardEvent, WheelEvent, ...
export type ObservedKeyEvent = z.output<typeof KeyEventSchema>;
export type ObservedButtonEvent = z.output<typeof ButtonEventSchema>;
export type ObservedRelEvent = z.output<typeof RelEventSchema>;
export type ObservedAbsEvent = z.output<typeof AbsEventSchema>;
export type ObservedWheelEvent = z.output<typeof WheelEventSchema>;
export type ObservedSyncDroppedEvent = z.output<typeof SyncDroppedEventSchema>;
export type ObservedTextEvent = z.output<typeof TextEventSchema>;
export type ObservedCompositionEvent = z.output<typeof CompositionEventSchema>;
export type ObservedFocusEvent = z.output<typeof FocusEventSchema>;
export type ObservedDeviceEvent = z.output<typeof DeviceEventSchema>;
