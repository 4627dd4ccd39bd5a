/**
 * /api/v1/keyboard/send|text and /api/v1/mouse/move|click: input into one
 * libvirt domain through targets/input.ts, the path `atp-host keyboard` and
 * `atp-host mouse` take (QMP through libvirt by default; `injector` spice or
 * vnc acts as a thin client at the domain's display server, or at `display`).
 * Keys, text and the injector choice are checked before the domain is
 * opened, so a typo costs no connection.
 *
 * A client that goes away stops the typing between two keystrokes (the
 * request's abort signal; each keystroke's downs and ups go out together, so
 * no key is left pressed).
 */
import {
  ApiKeyboardResultSchema,
  ApiKeyboardSendBodySchema,
  ApiKeyboardTextBodySchema,
  ApiMouseClickBodySchema,
  ApiMouseClickResultSchema,
  ApiMouseMoveBodySchema,
  ApiMouseMoveResultSchema,
} from '@atp/protocol';
import { comboToKeystroke, textToKeystrokes, type Keystroke } from '../../../inject/index.js';
import { resolveInjectorChoice, type InjectorFieldNames, type InjectorRequest } from '../../../targets/injector-choice.js';
import { DEFAULT_SCREEN, sendPaced, withInjector } from '../../../targets/input.js';
import type { ApiContext } from '../context.js';
import { defineRoute, type ApiRoute } from '../route.js';

/** The body's own field names in usage errors. */
const FIELDS: InjectorFieldNames = { injector: 'injector', mouseMode: 'mouseMode', display: 'display', displayPasswordFile: 'displayPasswordFile', displayCa: 'displayCa' };
const DEFAULT_RATE = 30;

async function typeInto(vm: string, strokes: readonly Keystroke[], request: InjectorRequest & { rate?: number | undefined }, context: ApiContext, signal: AbortSignal): Promise<{ vm: string; keystrokes: number; actions: number }> {
  const choice = await resolveInjectorChoice(request, FIELDS);
  return withInjector(vm, context.location, DEFAULT_SCREEN, choice, async (injector, label) => ({
    vm: label,
    keystrokes: strokes.length,
    actions: await sendPaced(injector, strokes, request.rate ?? DEFAULT_RATE, signal),
  }));
}

export function inputRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/keyboard/send',
      summary: 'Press and release keys or combos in order (a, enter, ctrl+alt+f2) in a libvirt domain',
      tag: 'input',
      body: ApiKeyboardSendBodySchema,
      response: ApiKeyboardResultSchema,
      handler: async ({ body, signal }, context) => typeInto(body.vm, body.keys.map(comboToKeystroke), body, context, signal),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/keyboard/text',
      summary: "Type text through the guest's keyboard layout (default us)",
      tag: 'input',
      body: ApiKeyboardTextBodySchema,
      response: ApiKeyboardResultSchema,
      handler: async ({ body, signal }, context) => typeInto(body.vm, textToKeystrokes(body.text, body.layout ?? 'us'), body, context, signal),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/mouse/move',
      summary: 'Move the pointer to pixel x, y of a screen (absolute, through the tablet)',
      tag: 'input',
      body: ApiMouseMoveBodySchema,
      response: ApiMouseMoveResultSchema,
      handler: async ({ body }, context) => {
        const screen = body.screen ?? DEFAULT_SCREEN;
        const choice = await resolveInjectorChoice(body, FIELDS);
        const vm = await withInjector(body.vm, context.location, screen, choice, async (injector, label) => {
          await injector.send([{ kind: 'move', x: body.x, y: body.y }]);
          return label;
        });
        return { vm, x: body.x, y: body.y, screen: { width: screen.width, height: screen.height } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/mouse/click',
      summary: 'Press and release a pointer button (default left)',
      tag: 'input',
      body: ApiMouseClickBodySchema,
      response: ApiMouseClickResultSchema,
      handler: async ({ body }, context) => {
        const { button } = body;
        const choice = await resolveInjectorChoice(body, FIELDS);
        const vm = await withInjector(body.vm, context.location, DEFAULT_SCREEN, choice, async (injector, label) => {
          await injector.send([
            { kind: 'button', button, down: true },
            { kind: 'button', button, down: false },
          ]);
          return label;
        });
        return { vm, button };
      },
    }),
  ];
}
