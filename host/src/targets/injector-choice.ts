/**
 * Which injector a hands-on input call uses, from what the user said: the
 * kind (qmp, spice, vnc), SPICE's mouse mode, and a display server given by
 * URL (its password from a 0600 file or $ATP_DISPLAY_PASSWORD, a CA for
 * spices://). A URL without a kind picks the URL's protocol. The CLI's
 * injector flags (cli/injector-flags.ts) and the HTTP API's input bodies
 * (api/v1/routes/input.ts) both come through here; each names its own
 * fields in the usage errors (ATP_SCHEMA_INVALID), and the password never
 * appears in one.
 */
import { AtpError, InjectorKindSchema, MouseModeSchema, type InjectorKind } from '@atp/protocol';
import { endpointFromUrl } from '../display/endpoint-sources.js';
import type { InjectorChoice } from './injectors.js';

export interface InjectorRequest {
  injector?: string;
  mouseMode?: string;
  display?: string;
  displayPasswordFile?: string;
  displayCa?: string;
}

/** How the caller spells each field in messages (the CLI: --injector, ...; the API: injector, ...). */
export type InjectorFieldNames = Record<keyof InjectorRequest, string>;

export const INJECTOR_FLAG_NAMES: InjectorFieldNames = { injector: '--injector', mouseMode: '--mouse-mode', display: '--display', displayPasswordFile: '--display-password-file', displayCa: '--display-ca' };

const usage = (field: string, message: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `${field}: ${message}`, { details: { field } });

/** The choice the request makes (kind absent: the caller's default), the endpoint read (password, CA). */
export async function resolveInjectorChoice(request: InjectorRequest, names: InjectorFieldNames = INJECTOR_FLAG_NAMES): Promise<Partial<InjectorChoice>> {
  let kind: InjectorKind | undefined;
  if (request.injector !== undefined) {
    const parsed = InjectorKindSchema.safeParse(request.injector);
    if (!parsed.success) throw usage(names.injector, `expected qmp, spice or vnc, got ${JSON.stringify(request.injector)}`);
    kind = parsed.data;
  }
  let mouseMode: InjectorChoice['mouseMode'];
  if (request.mouseMode !== undefined) {
    const parsed = MouseModeSchema.safeParse(request.mouseMode);
    if (!parsed.success) throw usage(names.mouseMode, `expected client or server, got ${JSON.stringify(request.mouseMode)}`);
    if (kind !== undefined && kind !== 'spice') throw usage(names.mouseMode, `is a SPICE setting: it needs ${names.injector} spice`);
    mouseMode = parsed.data;
  }
  if (request.display === undefined) {
    if (request.displayPasswordFile !== undefined || request.displayCa !== undefined) {
      throw usage(request.displayCa !== undefined ? names.displayCa : names.displayPasswordFile, `goes with ${names.display} URL`);
    }
    return { ...(kind === undefined ? {} : { kind }), ...(mouseMode === undefined ? {} : { mouseMode }) };
  }
  const endpoint = await endpointFromUrl(request.display, {
    ...(request.displayPasswordFile === undefined ? {} : { passwordFile: request.displayPasswordFile }),
    ...(request.displayCa === undefined ? {} : { caFile: request.displayCa }),
  });
  if (kind === 'qmp') throw usage(names.display, `names a SPICE or VNC server: it needs ${names.injector} spice or vnc (or no ${names.injector})`);
  if (kind !== undefined && kind !== endpoint.protocol) throw usage(names.display, `is a ${endpoint.protocol} URL but ${names.injector} is ${kind}`);
  return { kind: endpoint.protocol, endpoint, ...(mouseMode === undefined ? {} : { mouseMode }) };
}
