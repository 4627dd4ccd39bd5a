/**
 * Who may use the API. One bearer token per server (not an agent token):
 *  - `Authorization: Bearer TOKEN` (scripts, CI), or
 *  - a session cookie (the console): POST /api/v1/session with the token in
 *    the JSON body sets `atp_session` (random, HttpOnly, SameSite=Strict,
 *    Path=/), so the page never holds the token in its URL or storage.
 * A token in the query string (`?token=`, `?access_token=`) is refused with
 * 401 whatever else the request carries: URLs end up in logs and history.
 * Browser requests (they carry Origin) must come from the server's own
 * origin; with a cookie, a state-changing request must carry Origin (CSRF).
 * Tokens are compared in constant time.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { AtpError } from '@atp/protocol';

export const SESSION_COOKIE = 'atp_session';
const QUERY_TOKEN_KEYS = ['token', 'access_token', 'api_token', 'apiToken'];

export interface AuthRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
const header = (headers: AuthRequest['headers'], name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export class ApiAuth {
  private readonly tokenDigest: Buffer;
  private readonly sessions = new Map<string, number>();

  constructor(
    token: string,
    /** The origins the server is reached at (http://127.0.0.1:8470 …); Origin must be one of them. */
    private readonly origins: () => readonly string[],
    private readonly sessionTtlMs = 12 * 3600_000,
  ) {
    this.tokenDigest = digest(token);
  }

  tokenMatches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** A new session id for a correct token; ATP_API_AUTH otherwise. */
  openSession(token: string): string {
    if (!this.tokenMatches(token)) throw new AtpError('ATP_API_AUTH', 'wrong API token');
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, Date.now() + this.sessionTtlMs);
    return id;
  }

  closeSession(id: string): void {
    this.sessions.delete(id);
  }

  /** Throws ATP_API_AUTH / ATP_API_ORIGIN unless the request may proceed. */
  check(request: AuthRequest): void {
    const query = request.url.includes('?') ? new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1)) : undefined;
    if (query !== undefined && QUERY_TOKEN_KEYS.some((k) => query.has(k))) {
      throw new AtpError('ATP_API_AUTH', 'a token in the URL is refused (URLs end up in logs): send Authorization: Bearer TOKEN', { details: { where: 'query' } });
    }
    this.checkOrigin(request);
    const authorization = header(request.headers, 'authorization');
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (m?.[1] !== undefined && this.tokenMatches(m[1])) return;
      throw new AtpError('ATP_API_AUTH', 'wrong or malformed bearer token');
    }
    const session = this.sessionOf(request);
    if (session === undefined) throw new AtpError('ATP_API_AUTH', 'no API token: send Authorization: Bearer TOKEN (or sign in to the console)');
    const stateChanging = request.method !== 'GET' && request.method !== 'HEAD';
    if (stateChanging && header(request.headers, 'origin') === undefined) {
      throw new AtpError('ATP_API_ORIGIN', 'a session request that changes state must carry the Origin header');
    }
  }

  /** A foreign Origin is refused; no Origin (curl, scripts) is fine here (the token decides). */
  checkOrigin(request: Pick<AuthRequest, 'headers'>): void {
    const origin = header(request.headers, 'origin');
    if (origin === undefined) return;
    if (!this.origins().includes(origin)) throw new AtpError('ATP_API_ORIGIN', `origin ${JSON.stringify(origin)} is not this server's`, { details: { origin } });
  }

  /** The live session the request's cookie names, if any. */
  sessionOf(request: Pick<AuthRequest, 'headers'>): string | undefined {
    const cookie = header(request.headers, 'cookie');
    if (cookie === undefined) return undefined;
    for (const part of cookie.split(';')) {
      const [name, ...rest] = part.trim().split('=');
      if (name !== SESSION_COOKIE) continue;
      const id = rest.join('=');
      const expires = this.sessions.get(id);
      if (expires === undefined) return undefined;
      if (expires < Date.now()) {
        this.sessions.delete(id);
        return undefined;
      }
      return id;
    }
    return undefined;
  }
}
