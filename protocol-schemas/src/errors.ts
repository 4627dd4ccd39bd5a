/**
 * The one place where ATP's error codes live. Every error that crosses a module
 * boundary is an AtpError with one of these stable string codes; the description
 * beside each code is its documentation (`atp-host errors` will print this table).
 * Codes are never renamed or reused; new ones are appended.
 */

export const ERROR_CODES = {
  // Framing and schemas (protocol-schemas)
  ATP_FRAME_TOO_LARGE: 'A frame or line exceeded the maximum size; it was discarded up to the next delimiter.',
  ATP_FRAME_INVALID_JSON: 'A frame was not valid JSON.',
  ATP_FRAME_INVALID_UTF8: 'A frame was not valid UTF-8.',
  ATP_SCHEMA_INVALID: 'A message, scenario, config or report failed schema validation; the message names the field.',
  ATP_PROTOCOL_VERSION: 'A message carried a protocol version this side does not speak.',
  ATP_KEY_UNKNOWN: 'A key name or code has no entry in the key table.',

  // QMP (host/src/vm/qmp)
  ATP_QMP_CONNECT: 'Could not open the QMP socket or stream.',
  ATP_QMP_GREETING: 'The peer did not send a valid QMP greeting.',
  ATP_QMP_NEGOTIATION: 'qmp_capabilities was refused.',
  ATP_QMP_TIMEOUT: 'A QMP command got no reply within its timeout.',
  ATP_QMP_DISCONNECTED: 'The QMP connection closed while the command was in flight, or before it was sent.',
  ATP_QMP_COMMAND: 'QEMU answered a QMP command with an error (class and description in the message).',
  ATP_QMP_PROTOCOL: 'QEMU sent something that is not a QMP greeting, reply or event.',
  ATP_QMP_CLOSED: 'The QMP client was closed by its owner.',

  // QGA (host/src/vm/qga)
  ATP_QGA_CONNECT: 'Could not open the guest agent channel.',
  ATP_QGA_TIMEOUT: 'A guest agent command got no reply within its timeout.',
  ATP_QGA_DISCONNECTED: 'The guest agent channel closed while a command was in flight.',
  ATP_QGA_SYNC: 'guest-sync-delimited did not resynchronise the channel.',
  ATP_QGA_COMMAND: 'The guest agent answered with an error not covered by a more specific code.',
  ATP_QGA_COMMAND_NOT_FOUND: 'The guest agent does not know the command.',
  ATP_QGA_COMMAND_DISABLED: 'The command is disabled in this guest agent (--block-rpcs / allow list).',
  ATP_QGA_INVALID_PARAMETER: 'The guest agent refused a parameter.',
  ATP_QGA_EXEC_DEADLINE: 'A guest-exec process did not exit before its deadline.',
  ATP_QGA_FILE: 'A guest file open, read, write or close failed.',
  ATP_QGA_CLOSED: 'The QGA client was closed by its owner.',

  // Clock offset (protocol-schemas/src/clock.ts)
  ATP_CLOCK_NO_SAMPLES: 'No usable ping samples to estimate a clock offset from (none given, or none with a non-negative round trip).',
} as const satisfies Record<`ATP_${string}`, string>;

export type AtpErrorCode = keyof typeof ERROR_CODES;

export interface AtpErrorOptions {
  /** Machine-readable context: file, line, field, command, ... */
  details?: Readonly<Record<string, unknown>>;
  cause?: unknown;
}

/** The one error base class of ATP. `code` is stable; `message` is for humans. */
export class AtpError extends Error {
  readonly code: AtpErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: AtpErrorCode, message: string, options: AtpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AtpError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isAtpError(value: unknown, code?: AtpErrorCode): value is AtpError {
  return value instanceof AtpError && (code === undefined || value.code === code);
}
