/**
 * One HTTP try of a platform call with Node's global fetch: the `Token`
 * header, a JSON body, a timeout that covers the whole exchange (headers and
 * body), the caller's abort signal, redirects refused (a redirect would carry
 * the Token header to wherever it points). The answer is parsed as JSON and
 * returned unchecked; http.ts checks the envelope and decides on retries.
 * Failures: ATP_VDI_TIMEOUT, ATP_VDI_HTTP (network, non-2xx), ATP_VDI_REPLY
 * (not JSON, or larger than MAX_REPLY_BYTES: the rest is not read),
 * ATP_VDI_ABORTED. Messages name the method and path, never the
 * body or the token.
 */
import { AtpError } from '@atp/protocol';
import { endpointLabel, type Endpoint } from './endpoints.js';
import { aborted } from './retry.js';
import { timerDelay } from '../util/timers.js';

export interface ExchangeLog {
  /** The endpoint's method and path template, e.g. `GET /ocloud/v1/domain/{id}`. */
  endpoint: string;
  /** The path sent (ids filled in, no query). */
  path: string;
  /** 1 for the first try. */
  attempt: number;
  outcome: 'ok' | 'status' | 'http' | 'network' | 'timeout' | 'reply' | 'aborted';
  durationMs: number;
  httpStatus?: number;
  /** The envelope's status when there was one. */
  status?: number;
}

export interface ExchangeRequest {
  e: Endpoint;
  url: URL;
  path: string;
  body: unknown;
  token: string | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  log: (entry: Omit<ExchangeLog, 'endpoint' | 'path' | 'attempt'>) => void;
}

/** Largest answer read: a page of domains is kilobytes; a server streaming without end must not fill the heap. */
export const MAX_REPLY_BYTES = 32 * 1024 * 1024;

/** The body as text, or undefined (the rest cancelled) once it passes `limit` bytes. */
async function readCapped(response: Response, limit: number): Promise<string | undefined> {
  const announced = Number(response.headers.get('content-length') ?? '0');
  if (announced > limit) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Longest piece of a non-JSON answer quoted in an error. */
const QUOTE_CHARS = 160;

export async function exchangeOnce(r: ExchangeRequest): Promise<unknown> {
  const started = performance.now();
  const where = `${r.e.method} ${r.path}`;
  const details = { endpoint: endpointLabel(r.e), path: r.path };
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timerDelay(r.timeoutMs));
  const onAbort = (): void => controller.abort();
  r.signal?.addEventListener('abort', onAbort, { once: true });
  let httpStatus: number | undefined;
  const fail = (outcome: ExchangeLog['outcome'], error: AtpError): AtpError => {
    r.log({ outcome, durationMs: performance.now() - started, ...(httpStatus === undefined ? {} : { httpStatus }) });
    return error;
  };
  try {
    if (r.signal?.aborted) throw fail('aborted', aborted(r.signal, where));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (r.body !== undefined) headers['content-type'] = 'application/json';
    if (r.token !== undefined) headers['Token'] = r.token;
    let text: string;
    let contentType: string;
    try {
      const response = await fetch(r.url, {
        method: r.e.method,
        headers,
        body: r.body === undefined ? undefined : JSON.stringify(r.body),
        signal: controller.signal,
        redirect: 'manual',
      });
      httpStatus = response.status;
      contentType = response.headers.get('content-type') ?? '';
      const body = await readCapped(response, MAX_REPLY_BYTES);
      if (body === undefined && response.ok) {
        throw fail('reply', new AtpError('ATP_VDI_REPLY', `${where}: the answer is larger than ${MAX_REPLY_BYTES} bytes`, { details: { ...details, httpStatus, limit: MAX_REPLY_BYTES } }));
      }
      text = body ?? `(an answer larger than ${MAX_REPLY_BYTES} bytes)`;
      if (!response.ok) {
        const redirect = response.status >= 300 && response.status < 400 ? ' (redirects are not followed: check the platform URL)' : '';
        // The login's answer is not quoted: a server may echo the request, which carries the password hash.
        const quote = r.e.anonymous ? '' : `: ${quoteBody(text)}`;
        throw fail('http', new AtpError('ATP_VDI_HTTP', `${where}: HTTP ${response.status}${redirect}${quote}`, { details: { ...details, httpStatus: response.status } }));
      }
    } catch (error) {
      if (error instanceof AtpError) throw error;
      if (timedOut) {
        throw fail('timeout', new AtpError('ATP_VDI_TIMEOUT', `${where}: no complete answer within ${r.timeoutMs} ms`, { details: { ...details, timeoutMs: r.timeoutMs } }));
      }
      if (r.signal?.aborted) throw fail('aborted', aborted(r.signal, where));
      const reason = networkReason(error);
      throw fail('network', new AtpError('ATP_VDI_HTTP', `${where}: request to ${r.url.origin} failed: ${reason}`, { details: { ...details, network: true, reason }, cause: error }));
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw fail('reply', new AtpError('ATP_VDI_REPLY', `${where}: the answer is not JSON (content-type ${contentType || 'none'}): ${quoteBody(text)}`, { details: { ...details, httpStatus } }));
    }
    const status = typeof value === 'object' && value !== null ? (value as { status?: unknown }).status : undefined;
    r.log({
      outcome: status === 0 ? 'ok' : 'status',
      durationMs: performance.now() - started,
      ...(httpStatus === undefined ? {} : { httpStatus }),
      ...(typeof status === 'number' ? { status } : {}),
    });
    return value;
  } finally {
    clearTimeout(timer);
    r.signal?.removeEventListener('abort', onAbort);
  }
}

function quoteBody(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty body)';
  return JSON.stringify(flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS)}…` : flat);
}

/** undici says "fetch failed" and puts the reason (ECONNREFUSED, …) in `cause`. */
function networkReason(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(error);
}
