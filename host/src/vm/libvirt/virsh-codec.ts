/**
 * What an interactive `virsh -q` prints, cut back into per-command stdout and
 * stderr, and virsh's `error:` lines turned into typed AtpErrors. Hand-written
 * because virsh has no machine-readable interactive protocol. Measured on
 * libvirt 9.0 with stdin a pipe, COLUMNS huge (no line wrapping) and LC_ALL=C:
 *
 *   stdout: PROMPT <echo of the command line> \n <output> PROMPT echo --err M \n PROMPT echo M \n M
 *   stderr: <error lines> M
 *
 * readline echoes each line after the prompt ("virsh # "); `echo` prints its
 * argument with no newline. The marker commands are written as ATP''<rest>, so
 * the echoed command line never contains the marker itself (ATP<rest>): only
 * the output of `echo` does. Pure.
 */
import { AtpError } from '@atp/protocol';

const PROMPT = /^virsh [#>$] /;

export interface Marker {
  /** What virsh prints: search stdout and stderr for this. */
  readonly token: string;
  /** The two lines to write after a command (stderr marker first). */
  readonly lines: readonly [string, string];
}

export function makeMarker(nonce: string, seq: number): Marker {
  const rest = `${nonce}E${seq}`;
  if (!/^[A-Za-z0-9]+$/.test(rest)) throw new AtpError('ATP_LIBVIRT_ARGUMENT', `marker nonce must be alphanumeric: ${nonce}`);
  return { token: `ATP${rest}`, lines: [`echo --err ATP''${rest}`, `echo ATP''${rest}`] };
}

/**
 * The command's own output from the stdout segment that precedes the marker
 * token. `undefined` when the segment is not shaped as expected (the protocol
 * broke: the caller restarts virsh).
 */
export function commandStdout(segment: string, marker: Marker): string | undefined {
  const [errLine, outLine] = marker.lines;
  const tail = new RegExp(`(virsh [#>$] )${escapeRegExp(errLine)}\\n(virsh [#>$] )${escapeRegExp(outLine)}\\n$`).exec(segment);
  if (!tail) return undefined;
  const head = PROMPT.exec(segment);
  const firstNewline = segment.indexOf('\n');
  if (!head || firstNewline === -1 || firstNewline + 1 > tail.index) return undefined;
  return segment.slice(firstNewline + 1, tail.index);
}

/** The stdout segment of the start-up handshake (a bare marker pair) is well-formed. */
export function isHandshake(segment: string, marker: Marker): boolean {
  const [errLine, outLine] = marker.lines;
  return new RegExp(`^(virsh [#>$] )${escapeRegExp(errLine)}\\n(virsh [#>$] )${escapeRegExp(outLine)}\\n$`).test(segment);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Lines virsh prints on its own when the daemon goes away or comes back, not tied to a command. */
const NOTICE = /^(Disconnected from .* due to .*|Reconnected to the hypervisor)$/;
const CONNECTION =
  /(Failed to reconnect to the hypervisor|failed to connect to the hypervisor|no valid connection|client socket is closed|Cannot recv data|Cannot write data|End of file while reading data|Failed to connect socket|Connection reset by peer|Broken pipe)/i;
// "Domain not found: no domain with matching name 'x'" and, for a domain gone mid-call, "... matching uuid 'U' (x)".
const NOT_FOUND = /(failed to get domain '(.*)'$|Domain not found: .*'(.*)'(?: \((.*)\))?$)/m;
const NOT_RUNNING = /domain is not running/i;
const AGENT = /(Guest agent is not responding|guest agent is not connected|QEMU guest agent is not (connected|available))/i;
const ARGUMENT = /^(invalid keycode|unknown command|command '[^']*' doesn't support option|command '[^']*' requires|expected syntax|Numeric value .* is malformed|unexpected data|missing argument|dangling \\)/i;

export interface VirshStderr {
  /** error: lines that belong to the command (prefix stripped). */
  errors: string[];
  /** Connection notices virsh printed on its own (prefix stripped). */
  notices: string[];
  /** Anything else (warnings). */
  other: string[];
}

export function splitStderr(text: string): VirshStderr {
  const out: VirshStderr = { errors: [], notices: [], other: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '') continue;
    const m = /^error: (.*)$/.exec(line);
    if (!m) out.other.push(line);
    else if (NOTICE.test(m[1] ?? '')) out.notices.push(m[1] ?? '');
    else out.errors.push(m[1] ?? '');
  }
  return out;
}

export interface VirshCallContext {
  /** The virsh command verb (domstate, qemu-monitor-command, …). */
  command: string;
  /** The domain the call is about, when there is one. */
  domain?: string;
}

/** The AtpError for a failed command's error lines; the most specific match wins. */
export function virshError(errors: readonly string[], ctx: VirshCallContext): AtpError {
  const text = errors.join('; ');
  const found = NOT_FOUND.exec(errors.join('\n'));
  const on = ctx.domain === undefined ? '' : ` (domain '${ctx.domain}')`;
  const details = { command: ctx.command, domain: ctx.domain, virsh: [...errors] };
  if (CONNECTION.test(text)) return new AtpError('ATP_LIBVIRT_CONNECTION', `virsh ${ctx.command}${on}: lost the connection to libvirtd: ${text}`, { details });
  if (found) {
    // The name virsh quotes may itself contain quotes: the caller's name is exact.
    const name = ctx.domain ?? found[2] ?? found[4] ?? found[3] ?? '';
    return new AtpError('ATP_LIBVIRT_DOMAIN_NOT_FOUND', `virsh ${ctx.command}: no domain '${name}': ${text}`, { details: { ...details, domain: name } });
  }
  if (NOT_RUNNING.test(text)) return new AtpError('ATP_LIBVIRT_DOMAIN_NOT_RUNNING', `virsh ${ctx.command}${on}: domain is not running: ${text}`, { details });
  if (AGENT.test(text)) return new AtpError('ATP_LIBVIRT_AGENT_UNAVAILABLE', `virsh ${ctx.command}${on}: guest agent not connected or not responding: ${text}`, { details });
  if (errors.some((e) => ARGUMENT.test(e))) return new AtpError('ATP_LIBVIRT_ARGUMENT', `virsh ${ctx.command}${on} refused an argument: ${text}`, { details });
  return new AtpError('ATP_LIBVIRT_OPERATION_FAILED', `virsh ${ctx.command}${on} failed: ${text}`, { details });
}

/**
 * The error of a finished command from its stderr, or undefined if it printed
 * no error. A command that failed right as virsh saw the connection drop (a
 * "Disconnected from …" notice in the same stretch) failed because of the
 * drop, whatever its own message says ("failed to get domain" is typical).
 */
export function commandError(parts: VirshStderr, ctx: VirshCallContext): AtpError | undefined {
  if (parts.errors.length === 0) return undefined;
  if (parts.notices.some((n) => n.startsWith('Disconnected from'))) return connectionLost(parts, ctx);
  return virshError(parts.errors, ctx);
}

function connectionLost(parts: VirshStderr, ctx: VirshCallContext): AtpError {
  const text = [...parts.notices, ...parts.errors].join('; ');
  const on = ctx.domain === undefined ? '' : ` (domain '${ctx.domain}')`;
  return new AtpError('ATP_LIBVIRT_CONNECTION', `virsh ${ctx.command}${on}: lost the connection to libvirtd: ${text}`, {
    details: { command: ctx.command, domain: ctx.domain, virsh: [...parts.notices, ...parts.errors] },
  });
}

/** "internal error: unable to execute QEMU agent command 'X': DESC" → {command, desc}; libvirt drops the error class. */
export function agentCommandFailure(errors: readonly string[]): { command: string; desc: string } | undefined {
  for (const line of errors) {
    const m = /unable to execute QEMU agent command '([^']*)'(?:: (.*))?$/.exec(line);
    if (m) return { command: m[1] ?? '', desc: m[2] ?? '' };
  }
  return undefined;
}
