/**
 * QGA error replies → typed AtpErrors. The mapping follows what qemu-ga 7.2
 * actually sends (measured): an unknown command is class CommandNotFound; a
 * command blocked with --block-rpcs is also CommandNotFound, with the
 * description "Command NAME has been disabled"; parameter problems are
 * GenericError with QAPI's fixed wording (older agents used dedicated classes).
 */
import { AtpError } from '@atp/protocol';

const PARAMETER_CLASSES = new Set(['InvalidParameter', 'InvalidParameterType', 'InvalidParameterValue', 'MissingParameter']);
const PARAMETER_DESC = /^(Invalid parameter\b|Parameter '[^']*' (is missing|is unexpected|expects\b))/;
const DISABLED_DESC = /\bhas been disabled\b/;

export function qgaCommandError(command: string, errorClass: string, desc: string): AtpError {
  const details = { command, class: errorClass, desc };
  if (DISABLED_DESC.test(desc) && (errorClass === 'CommandNotFound' || errorClass === 'GenericError')) {
    return new AtpError('ATP_QGA_COMMAND_DISABLED', `guest agent command ${command} is disabled: ${desc}`, { details });
  }
  if (errorClass === 'CommandNotFound') {
    return new AtpError('ATP_QGA_COMMAND_NOT_FOUND', `guest agent does not know ${command}: ${desc}`, { details });
  }
  if (PARAMETER_CLASSES.has(errorClass) || PARAMETER_DESC.test(desc)) {
    return new AtpError('ATP_QGA_INVALID_PARAMETER', `guest agent refused a parameter of ${command}: ${desc}`, { details });
  }
  return new AtpError('ATP_QGA_COMMAND', `guest agent command ${command} failed (${errorClass}): ${desc}`, { details });
}

/** The same error with the connection target added to its message and details. */
export function withTarget(error: unknown, target: string): unknown {
  if (!(error instanceof AtpError)) return error;
  return new AtpError(error.code, `${error.message} (${target})`, { details: { ...error.details, target }, cause: error.cause });
}
