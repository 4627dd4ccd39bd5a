/**
 * Turns a base URL, an endpoint and its parameters into the URL of one call.
 * Pure. Parameters are validated with the endpoint's schema first (a typo or a
 * bad value is ATP_VDI_ARGUMENT naming the field); `{name}` in the path takes
 * the parameter of that name (percent-encoded, so an id cannot add path
 * segments), the rest go to the query (arrays as repeated keys, which Spring
 * reads as a list). Base URLs with credentials in them are refused: nothing
 * secret goes into a URL.
 */
import { AtpError, toValidationIssues } from '@atp/protocol';
import type { z } from 'zod';
import { endpointLabel, type Endpoint } from './endpoints.js';

/** Checks a platform base URL (`http://10.0.0.1:8088`, maybe with a path prefix). */
export function parseBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AtpError('ATP_VDI_ARGUMENT', `platform URL ${JSON.stringify(text)} is not a URL (expected e.g. http://10.0.0.1:8088)`, { details: { field: 'baseUrl' } });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AtpError('ATP_VDI_ARGUMENT', `platform URL ${url.origin}: expected http: or https:, got ${url.protocol}`, { details: { field: 'baseUrl' } });
  }
  if (url.username !== '' || url.password !== '') {
    throw new AtpError('ATP_VDI_ARGUMENT', `platform URL for ${url.host} carries credentials; give the user separately and the password through ATP_VDI_PASSWORD, a 0600 file or the prompt`, { details: { field: 'baseUrl' } });
  }
  if (url.search !== '' || url.hash !== '') {
    throw new AtpError('ATP_VDI_ARGUMENT', `platform URL ${url.origin}${url.pathname} must not have a query or fragment`, { details: { field: 'baseUrl' } });
  }
  return url;
}

/** Validates a request value (params or body) with its schema; ATP_VDI_ARGUMENT names the field. */
export function checkInput<S extends z.ZodType>(e: Endpoint, part: 'params' | 'body', schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = toValidationIssues(result.error.issues, [part]);
  const text = issues.slice(0, 3).map((i) => `${i.pathText}: ${i.message}`).join('; ');
  throw new AtpError('ATP_VDI_ARGUMENT', `${endpointLabel(e)}: ${text}`, { details: { endpoint: endpointLabel(e), issues } });
}

/** The full URL of a call, and the path alone (for messages and logs; the query may be long). */
export function requestUrl(base: URL, e: Endpoint, params: unknown): { url: URL; path: string } {
  const values = (e.params ? checkInput(e, 'params', e.params, params ?? {}) : {}) as Record<string, unknown>;
  const used = new Set<string>();
  const path = e.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    used.add(name);
    const value = values[name];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new AtpError('ATP_VDI_ARGUMENT', `${endpointLabel(e)}: path parameter ${name} is missing`, { details: { endpoint: endpointLabel(e), field: name } });
    }
    return encodeURIComponent(String(value));
  });
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  for (const [name, value] of Object.entries(values)) {
    if (used.has(name) || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(one));
  }
  return { url, path: url.pathname };
}
