/**
 * AtpError → HTTP status and the one JSON error body ({ error: { code,
 * message, details } }) every failing API request gets. Usage mistakes
 * (schema, suite, key, layout, config) are 400; unknown objects 404; auth
 * 401; origin 403; state conflicts 409; a VM, hypervisor or platform that
 * failed (any other AtpError) 502; anything else 500 with a generic message
 * (the cause goes to the server log, not to the client).
 */
import { AtpError, type ApiError } from '@atp/protocol';

const BAD_REQUEST = new Set<string>([
  'ATP_SCHEMA_INVALID', 'ATP_KEY_UNKNOWN', 'ATP_PROTOCOL_VERSION', 'ATP_SCENARIO_READ', 'ATP_SCENARIO_YAML', 'ATP_SCENARIO_INVALID',
  'ATP_INJECT_UNMAPPED_CHAR', 'ATP_INJECT_LAYOUT_UNKNOWN', 'ATP_INJECT_KEY_UNSUPPORTED', 'ATP_INJECT_ACTION_UNSUPPORTED', 'ATP_CONFIG_YAML', 'ATP_CONFIG_HOST_EXISTS',
  'ATP_CONFIG_PLATFORM_EXISTS', 'ATP_API_BODY', 'ATP_DISPLAY_URL', 'ATP_VDI_ARGUMENT', 'ATP_RUN_NO_TARGETS',
  // The request named a key file, display password file or injector the server cannot use.
  'ATP_SSH_KEY_FILE', 'ATP_DISPLAY_CREDENTIALS', 'ATP_INJECT_UNKNOWN',
]);
const NOT_FOUND = new Set<string>([
  'ATP_API_NOT_FOUND', 'ATP_CONFIG_HOST_UNKNOWN', 'ATP_CONFIG_PLATFORM_UNKNOWN', 'ATP_LIBVIRT_DOMAIN_NOT_FOUND', 'ATP_VDI_POOL_UNKNOWN', 'ATP_VDI_VM_UNKNOWN',
  'ATP_VDI_MODEL_UNKNOWN', 'ATP_VDI_USER_UNKNOWN', 'ATP_VDI_GROUP_UNKNOWN', 'ATP_HISTORY_RUN_UNKNOWN',
]);

export function statusOf(error: AtpError): number {
  if (error.code === 'ATP_API_AUTH') return 401;
  if (error.code === 'ATP_API_ORIGIN') return 403;
  if (error.code === 'ATP_API_CONFLICT' || error.code === 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING') return 409;
  if (error.code === 'ATP_API_BODY' && error.details['limit'] !== undefined) return 413;
  if (BAD_REQUEST.has(error.code)) return 400;
  if (NOT_FOUND.has(error.code)) return 404;
  return 502;
}

export function errorBody(error: AtpError): ApiError {
  const details = Object.keys(error.details).length === 0 ? undefined : { ...error.details };
  return { error: { code: error.code, message: error.message, ...(details === undefined ? {} : { details }) } };
}

/** Any thrown value → status and body; a non-AtpError is a 500 that says nothing of its cause. */
export function toHttpError(error: unknown): { status: number; body: ApiError } {
  if (error instanceof AtpError) return { status: statusOf(error), body: errorBody(error) };
  return { status: 500, body: { error: { code: 'ATP_API_INTERNAL', message: 'internal error (see the server log)' } } };
}
