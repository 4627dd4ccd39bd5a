/**
 * /api/v1/keyboard/* and /api/v1/mouse/*: input into one libvirt domain, the
 * same path `atp-host keyboard send|text` and `atp-host mouse move|click`
 * take: QMP input-send-event through libvirt by default, or as a thin client
 * through the domain's SPICE or VNC server (`injector`). `vm` is NAME or
 * NAME@HOST (a hosts.yaml host; default this machine). `display` names a
 * display server instead of the domain's own (spice://, vnc://, ...; its
 * password from `displayPasswordFile`, a 0600 file on the server, or the
 * server's $ATP_DISPLAY_PASSWORD; `displayCa` for spices://).
 */
import { z } from 'zod';
import { InjectorKindSchema, MouseModeSchema } from '../scenario.js';

/** NAME or NAME@HOST: a libvirt domain and, optionally, a hosts.yaml host. */
export const ApiVmRefSchema = z
  .string()
  .min(1)
  .max(300)
  .regex(/^[^\s/@]+(@[A-Za-z0-9][A-Za-z0-9._-]{0,62})?$/, 'NAME or NAME@HOST (a libvirt domain, a hosts.yaml host)');

const injectorFields = {
  injector: InjectorKindSchema.optional(),
  /** SPICE's mouse mode (only with injector spice). */
  mouseMode: MouseModeSchema.optional(),
  display: z.string().min(1).max(2048).optional(),
  displayPasswordFile: z.string().min(1).max(4096).optional(),
  displayCa: z.string().min(1).max(4096).optional(),
};

/** Keystrokes (or characters) per second. */
const rate = z.number().gt(0).max(1000).optional();

/** Each entry a key or combo: `a`, `enter`, `ctrl+alt+f2`; pressed and released in order. */
export const ApiKeyboardSendBodySchema = z.strictObject({
  vm: ApiVmRefSchema,
  keys: z.array(z.string().min(1).max(100)).min(1).max(1000),
  rate,
  ...injectorFields,
});

/** Text typed through a keyboard layout (default us). */
export const ApiKeyboardTextBodySchema = z.strictObject({
  vm: ApiVmRefSchema,
  text: z.string().min(1).max(10_000),
  layout: z.string().min(1).max(32).optional(),
  rate,
  ...injectorFields,
});

export const ApiKeyboardResultSchema = z.strictObject({
  vm: z.string(),
  keystrokes: z.number().int(),
  /** Key events sent (a combo of two keys is four). */
  actions: z.number().int(),
});

export const ApiScreenSchema = z.strictObject({
  width: z.number().int().min(1).max(99_999),
  height: z.number().int().min(1).max(99_999),
});

/** An absolute position in pixels of a screen of `screen` size (default 1024x768). */
export const ApiMouseMoveBodySchema = z
  .strictObject({
    vm: ApiVmRefSchema,
    x: z.number().int().min(0),
    y: z.number().int().min(0),
    screen: ApiScreenSchema.optional(),
    ...injectorFields,
  })
  .superRefine((b, ctx) => {
    const screen = b.screen ?? { width: 1024, height: 768 };
    if (b.x >= screen.width) ctx.addIssue({ code: 'custom', path: ['x'], message: `expected a pixel in 0..${screen.width - 1}` });
    if (b.y >= screen.height) ctx.addIssue({ code: 'custom', path: ['y'], message: `expected a pixel in 0..${screen.height - 1}` });
  });

export const API_POINTER_BUTTONS = ['left', 'right', 'middle', 'side', 'extra'] as const;

export const ApiMouseClickBodySchema = z.strictObject({
  vm: ApiVmRefSchema,
  button: z.enum(API_POINTER_BUTTONS).default('left'),
  ...injectorFields,
});

export const ApiMouseMoveResultSchema = z.strictObject({ vm: z.string(), x: z.number().int(), y: z.number().int(), screen: ApiScreenSchema });
export const ApiMouseClickResultSchema = z.strictObject({ vm: z.string(), button: z.enum(API_POINTER_BUTTONS) });
