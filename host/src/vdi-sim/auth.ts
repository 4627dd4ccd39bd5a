/**
 * Admin sessions: login checks the username and the lowercase hex MD5 of the
 * password (as the platform's web client sends it) and issues a random token
 * that lives `lifetimeMs`; every other call presents it in the `Token` header.
 * Missing, unknown, logged-out and expired tokens are all "1006". The clock is
 * injectable so expiry is testable without waiting.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const DEFAULT_TOKEN_LIFETIME_MS = 30 * 60_000;

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export class TokenStore {
  private readonly tokens = new Map<string, { username: string; expiresAt: number }>();
  private readonly passwordMd5: Buffer;

  constructor(
    private readonly admin: { username: string; password: string },
    private readonly lifetimeMs: number = DEFAULT_TOKEN_LIFETIME_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.passwordMd5 = Buffer.from(md5Hex(admin.password), 'utf8');
  }

  /** A new token, or undefined when the username or password MD5 is wrong. */
  login(username: string, passwordMd5: string): string | undefined {
    const given = Buffer.from(passwordMd5.toLowerCase(), 'utf8');
    const match = given.length === this.passwordMd5.length && timingSafeEqual(given, this.passwordMd5);
    if (!match || username !== this.admin.username) return undefined;
    this.sweep();
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, { username, expiresAt: this.now() + this.lifetimeMs });
    return token;
  }

  /** The session's username, or undefined for a missing, unknown or expired token. */
  check(token: string | undefined): string | undefined {
    if (token === undefined || token === '') return undefined;
    const session = this.tokens.get(token);
    if (session === undefined) return undefined;
    if (this.now() >= session.expiresAt) {
      this.tokens.delete(token);
      return undefined;
    }
    return session.username;
  }

  logout(token: string): void {
    this.tokens.delete(token);
  }

  /** The SimFaults.expireTokens fault: every token issued so far is expired now. */
  expireAll(): void {
    for (const session of this.tokens.values()) session.expiresAt = 0;
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, session] of this.tokens) if (now >= session.expiresAt) this.tokens.delete(token);
  }
}
