/**
 * The console's only way to the server: same-origin fetches to /api/v1 with the
 * session cookie (set by POST /api/v1/session, HttpOnly: the page never sees
 * it, never stores the token, never puts it in a URL). Every failure becomes an
 * ApiFailure carrying the server's AtpError code; a 401 also tells the app the
 * session is gone, so it shows the sign-in form.
 */
import { ApiErrorSchema, parseWith } from '@atp/protocol';
import type { z } from 'zod';

export const API = '/api/v1';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  /** The route is not on this server (yet). */
  get missing(): boolean {
    return this.status === 404 && this.code === 'ATP_API_NOT_FOUND';
  }
}

let onUnauthorized: () => void = () => undefined;

/** What to do when the server says the session is gone (show sign-in). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

async function failure(response: Response): Promise<ApiFailure> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = ApiErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) return new ApiFailure(response.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error.details);
  } catch {
    // not JSON: fall through
  }
  return new ApiFailure(response.status, `HTTP_${response.status}`, text.trim().slice(0, 200) || response.statusText || `HTTP ${response.status}`);
}

export async function request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (cause) {
    if (signal?.aborted === true) throw cause;
    throw new ApiFailure(0, 'ATP_CONSOLE_OFFLINE', `the server did not answer ${method} ${API}${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  if (!response.ok) {
    const error = await failure(response);
    if (response.status === 401 && path !== '/session') onUnauthorized();
    throw error;
  }
  return response;
}

/** A JSON reply (unchecked here; views parse what they use). */
export async function getJson(path: string, signal?: AbortSignal): Promise<unknown> {
  return (await request('GET', path, undefined, signal)).json() as Promise<unknown>;
}

/** A JSON reply checked against its protocol-schemas schema (a mismatch is ATP_SCHEMA_INVALID naming the field). */
export async function getParsed<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
  return parseWith(schema, await getJson(path, signal), { source: `GET ${API}${path}`, what: 'reply' });
}

export async function postJson(path: string, body: unknown): Promise<unknown> {
  const response = await request('POST', path, body);
  const text = await response.text();
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

export async function del(path: string): Promise<void> {
  await request('DELETE', path);
}

export const signIn = (token: string): Promise<unknown> => postJson('/session', { token });
export const signOut = (): Promise<void> => del('/session');

/** One line for a failure: the code and the server's message. */
export function describeError(error: unknown): string {
  if (error instanceof ApiFailure) return error.missing ? `${error.message} (this server has no such route yet)` : `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
