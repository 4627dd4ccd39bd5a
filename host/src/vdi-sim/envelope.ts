/**
 * The platform's answer envelope `{status, msg, data}` and the simulator's
 * status codes. Status 0 is success and 1006 "token missing, unknown or
 * expired" is the platform's own; the real product's other codes are not
 * documented, so the simulator uses its own small set (below) and always
 * names the field or object in `msg`. Platform errors travel with HTTP 200.
 * Handlers throw SimFailure; the server turns it into an envelope. Pure.
 */

export const SIM_STATUS = {
  ok: 0,
  /** A body field or query parameter is missing or invalid; msg names it. */
  badRequest: 1001,
  /** No domain, pool, model, host, user, OU or event with that id; msg names it. */
  notFound: 1002,
  /** Wrong username or password at login. */
  loginFailed: 1003,
  /** The object is not in a state that allows the operation (busy, not running, name taken). */
  conflict: 1004,
  /** libvirt failed the operation; msg quotes it. */
  failed: 1005,
  /** Token missing, unknown or expired: log in again. */
  token: 1006,
} as const;

export interface Envelope<T> {
  status: number;
  msg: string;
  data?: T;
}

export function ok<T>(data?: T): Envelope<T> {
  return data === undefined ? { status: SIM_STATUS.ok, msg: 'success' } : { status: SIM_STATUS.ok, msg: 'success', data };
}

/** A platform error answer; thrown by handlers, sent as an envelope with HTTP 200. */
export class SimFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SimFailure';
  }
}

export const badRequest = (msg: string): SimFailure => new SimFailure(SIM_STATUS.badRequest, msg);
export const notFound = (msg: string): SimFailure => new SimFailure(SIM_STATUS.notFound, msg);
export const conflict = (msg: string): SimFailure => new SimFailure(SIM_STATUS.conflict, msg);
