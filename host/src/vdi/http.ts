/**
 * The one request path to an OCloudView platform: every call of the typed
 * client (client.ts) goes through `VdiHttp.call` with an entry of
 * endpoints.ts. It uses Node's global fetch (undici); no other dependency.
 *
 * One call:
 * 1. Parameters and body are checked against the endpoint's schemas
 *    (request-url.ts) before anything is sent.
 * 2. Unless the endpoint is the login, a token is needed: the first call logs
 *    in (`POST /ocloud/v1/login`, the password as lowercase hex MD5,
 *    `client: ""`); calls at the same moment share that one login.
 * 3. One exchange: fetch with the `Token` header and a per-try timeout
 *    (AbortController; it also covers reading the body). GETs that fail on
 *    the network, with HTTP 5xx or by timeout are tried again after
 *    exponential backoff with jitter, a bounded number of times (retry.ts);
 *    other methods are sent once.
 * 4. The answer must be the JSON envelope `{status, msg, data}`. Status 1006
 *    (token expired or unknown) logs in again once (shared with any other call
 *    that hit 1006 with the same token) and repeats the call once; a second
 *    1006 is ATP_VDI_AUTH. Any other status != 0 is ATP_VDI_STATUS naming the
 *    method, path, status and msg. Status 0: `data` is validated with the
 *    endpoint's schema (ATP_VDI_REPLY names the field path) and returned.
 * List endpoints are walked page by page by `callAll` (paging.ts).
 *
 * Secrets: the password is turned into its MD5 at the first login and only
 * that hash is kept (in a private field); it travels in the login body only.
 * Neither it nor the token appears in errors, log entries or URLs.
 */
import { createHash } from 'node:crypto';
import { AtpError, toValidationIssues } from '@atp/protocol';
import { endpointLabel, ENDPOINTS, type BodyOf, type DataOf, type Endpoint, type ParamsOf } from './endpoints.js';
import { DEFAULT_MAX_PAGES, DEFAULT_PAGE_SIZE, walkPages } from './paging.js';
import { checkInput, parseBaseUrl, requestUrl } from './request-url.js';
import { DEFAULT_RETRY, isRetryable, retrySchedule, sleep, type RetryPolicy } from './retry.js';
import { envelopeSchema, type Envelope } from './schemas/common.js';
import { exchangeOnce, type ExchangeLog } from './exchange.js';

/** The platform's status for a missing, unknown or expired token. */
export const STATUS_TOKEN_REJECTED = 1006;
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

export type VdiCallLog = ExchangeLog;

/** The plain password, or a function that reads it when the first login needs it (e.g. a prompt). */
export type PasswordSource = string | (() => Promise<string>);

export interface VdiHttpOptions {
  /** e.g. `http://10.0.0.1:8088` (the admin API lives under /ocloud/v1). */
  baseUrl: string;
  username: string;
  password: PasswordSource;
  /** Per try, including reading the answer (default 30 s). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Items per page when walking lists (default 100). */
  pageSize?: number;
  /** Bound on pages per walk (default 1000). */
  maxPages?: number;
  /** Called once per HTTP exchange: endpoint, path, try, outcome, duration. Never a body, token or password. */
  log?: (entry: VdiCallLog) => void;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's per-try timeout for this call. */
  timeoutMs?: number;
}

export interface CallInput<E> {
  params?: ParamsOf<E>;
  body?: BodyOf<E>;
}

export type ItemOf<E> = DataOf<E> extends { list: (infer T)[] } ? T : never;

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export class VdiHttp {
  readonly baseUrl: URL;
  readonly username: string;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly pageSize: number;
  readonly maxPages: number;
  readonly #log: ((entry: VdiCallLog) => void) | undefined;
  #passwordMd5: (() => Promise<string>) | undefined;
  /** The current login (pending or done); undefined before the first and after logout or a rejected token. */
  #token: Promise<string> | undefined;
  /** The token #token resolved to; undefined while a login is pending. */
  #current: string | undefined;
  #logins = 0;

  constructor(options: VdiHttpOptions) {
    this.baseUrl = parseBaseUrl(options.baseUrl);
    if (options.username === '') throw new AtpError('ATP_VDI_ARGUMENT', 'platform user name is empty', { details: { field: 'username' } });
    this.username = options.username;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
    this.#log = options.log;
    const source = options.password;
    if (typeof source === 'string') {
      const hash = md5Hex(source);
      this.#passwordMd5 = () => Promise.resolve(hash);
    } else {
      this.#passwordMd5 = async () => {
        const hash = md5Hex(await source());
        this.#passwordMd5 = () => Promise.resolve(hash);
        return hash;
      };
    }
  }

  /** Logins done so far (the first and every renewal after status 1006). */
  get logins(): number {
    return this.#logins;
  }

  /** One call: its `data`, validated. */
  async call<E extends Endpoint>(e: E, input: CallInput<E> = {}, options: CallOptions = {}): Promise<DataOf<E>> {
    const { url, path } = requestUrl(this.baseUrl, e, input.params);
    const body = e.body ? checkInput(e, 'body', e.body, input.body) : undefined;
    if (e.anonymous) return this.#interpret(e, path, await this.#exchange(e, url, path, body, undefined, options));
    let token = await this.#ensureToken();
    let envelope = await this.#exchange(e, url, path, body, token, options);
    if (envelope.status === STATUS_TOKEN_REJECTED) {
      token = await this.#renewToken(token);
      envelope = await this.#exchange(e, url, path, body, token, options);
      if (envelope.status === STATUS_TOKEN_REJECTED) {
        throw new AtpError('ATP_VDI_AUTH', `${e.method} ${path}: the platform refused a fresh token of ${JSON.stringify(this.username)} (status 1006${msgText(envelope)})`, {
          details: { endpoint: endpointLabel(e), path, status: envelope.status, msg: envelope.msg },
        });
      }
    }
    return this.#interpret(e, path, envelope);
  }

  /** Every item of a list endpoint, page by page (pageNum from 1). */
  async callAll<E extends Endpoint>(e: E, params: Omit<ParamsOf<E>, 'pageNum' | 'pageSize'>, options: CallOptions = {}): Promise<ItemOf<E>[]> {
    if (!e.paged) throw new AtpError('ATP_VDI_ARGUMENT', `${endpointLabel(e)} is not a paged list`, { details: { endpoint: endpointLabel(e) } });
    const page = (pageNum: number, pageSize: number) => this.call(e, { params: { ...params, pageNum, pageSize } as ParamsOf<E> }, options);
    return walkPages((n, size) => page(n, size) as Promise<{ list: ItemOf<E>[] }>, { label: endpointLabel(e), pageSize: this.pageSize, maxPages: this.maxPages });
  }

  /** Logs in now (otherwise the first call does). */
  async login(): Promise<void> {
    await this.#ensureToken();
  }

  /** Ends the session, if there is one. A token the platform already forgot counts as logged out. */
  async logout(options: CallOptions = {}): Promise<void> {
    const pending = this.#token;
    this.#token = undefined;
    this.#current = undefined;
    const token = await pending?.catch(() => undefined);
    if (token === undefined) return;
    const e = ENDPOINTS.logout;
    const { url, path } = requestUrl(this.baseUrl, e, undefined);
    const envelope = await this.#exchange(e, url, path, undefined, token, options);
    if (envelope.status !== 0 && envelope.status !== STATUS_TOKEN_REJECTED) this.#interpret(e, path, envelope);
  }

  #ensureToken(): Promise<string> {
    if (this.#token === undefined) {
      const login: Promise<string> = this.#login().then(
        (token) => {
          if (this.#token === login) this.#current = token;
          return token;
        },
        (error: unknown) => {
          if (this.#token === login) this.#token = undefined;
          throw error;
        },
      );
      this.#token = login;
    }
    return this.#token;
  }

  /** After a 1006 with `stale`: one new login, shared by every call that was refused with the same token. */
  #renewToken(stale: string): Promise<string> {
    if (this.#token !== undefined && this.#current !== stale) return this.#token;
    this.#token = undefined;
    this.#current = undefined;
    return this.#ensureToken();
  }

  async #login(): Promise<string> {
    this.#logins++;
    const e = ENDPOINTS.login;
    const { url, path } = requestUrl(this.baseUrl, e, undefined);
    const password = await (this.#passwordMd5 as () => Promise<string>)();
    const envelope = await this.#exchange(e, url, path, { username: this.username, password, client: '' }, undefined, {});
    if (envelope.status !== 0) {
      throw new AtpError('ATP_VDI_AUTH', `login as ${JSON.stringify(this.username)} at ${this.baseUrl.origin} refused: status ${envelope.status}${msgText(envelope)}`, {
        details: { endpoint: endpointLabel(e), status: envelope.status, msg: envelope.msg, username: this.username },
      });
    }
    return this.#interpret(e, path, envelope).token;
  }

  /** One logical exchange: tries, retries (GET only) and the log. */
  async #exchange(e: Endpoint, url: URL, path: string, body: unknown, token: string | undefined, options: CallOptions): Promise<Envelope> {
    const delays = retrySchedule(this.retry);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const log = (entry: Omit<VdiCallLog, 'endpoint' | 'path' | 'attempt'>): void => this.#log?.({ endpoint: endpointLabel(e), path, attempt, ...entry });
      try {
        const raw = await exchangeOnce({ e, url, path, body, token, timeoutMs, signal: options.signal, log });
        return this.#envelope(e, path, raw);
      } catch (error) {
        const delay = attempt < this.retry.attempts && isRetryable(e.method, error) ? delays[attempt - 1] : undefined;
        if (delay === undefined) throw attempt > 1 && error instanceof AtpError ? afterTries(error, attempt) : error;
        await sleep(delay, options.signal);
      }
    }
  }

  #envelope(e: Endpoint, path: string, raw: unknown): Envelope {
    const result = envelopeSchema.safeParse(raw);
    if (result.success) return result.data;
    throw replyError(e, path, toValidationIssues(result.error.issues), 'is not the {status, msg, data} envelope');
  }

  #interpret<E extends Endpoint>(e: E, path: string, envelope: Envelope): DataOf<E> {
    if (envelope.status !== 0) {
      throw new AtpError('ATP_VDI_STATUS', `${e.method} ${path}: platform status ${envelope.status}${msgText(envelope)}`, {
        details: { endpoint: endpointLabel(e), path, status: envelope.status, msg: envelope.msg },
      });
    }
    if (!e.data) return undefined as DataOf<E>;
    const result = e.data.safeParse(envelope.data);
    if (result.success) return result.data as DataOf<E>;
    throw replyError(e, path, toValidationIssues(result.error.issues, ['data']), 'does not match the contract');
  }
}

function msgText(envelope: Envelope): string {
  return envelope.msg === undefined || envelope.msg === '' ? '' : `: ${envelope.msg}`;
}

function replyError(e: Endpoint, path: string, issues: ReturnType<typeof toValidationIssues>, what: string): AtpError {
  const listed = issues.slice(0, 3).map((i) => `${i.pathText}: ${i.message}`).join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return new AtpError('ATP_VDI_REPLY', `${e.method} ${path}: the answer ${what}: ${listed}${more}`, {
    details: { endpoint: endpointLabel(e), path, issues },
  });
}

/** The last try's error, saying how many tries were made. */
function afterTries(error: AtpError, tries: number): AtpError {
  return new AtpError(error.code, `${error.message} (after ${tries} tries)`, { details: { ...error.details, tries }, cause: error.cause ?? error });
}
