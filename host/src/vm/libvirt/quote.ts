/**
 * Quoting for virsh's own command-line parser (interactive mode reads lines
 * from stdin and splits them itself; no system shell is ever involved).
 * Hand-written because no library targets virsh's parser, whose rules are
 * (libvirt's vsh.c): tokens end at blanks or ';' outside quotes; inside '…'
 * every byte is literal; outside quotes a backslash escapes the next byte; a
 * token starting with '#' is a comment. So every argument is single-quoted and
 * an embedded ' becomes '\'' (close, escaped quote, reopen).
 *
 * Lines go through readline first, which acts on control characters (TAB
 * completes, ^A moves the cursor, a newline ends the command): those are
 * refused (ATP_LIBVIRT_ARGUMENT). JSON arguments never need them, since
 * `asciiJson` escapes control characters and every non-ASCII character as
 * \uXXXX (same JSON value, pure ASCII on the wire). Pure.
 */
import { AtpError } from '@atp/protocol';

// C0 controls and DEL: readline binds or ends lines on them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Throws ATP_LIBVIRT_ARGUMENT when `arg` cannot travel through virsh's interactive line reader. */
export function assertPassable(arg: string): void {
  const bad = CONTROL.exec(arg);
  if (bad) {
    const code = bad[0].charCodeAt(0);
    throw new AtpError('ATP_LIBVIRT_ARGUMENT', `argument contains control character U+${code.toString(16).padStart(4, '0').toUpperCase()} at index ${bad.index}; virsh's line reader cannot carry it`, {
      details: { index: bad.index, code, reason: 'line-reader' },
    });
  }
  if (LONE_SURROGATE.test(arg)) {
    throw new AtpError('ATP_LIBVIRT_ARGUMENT', 'argument contains a lone UTF-16 surrogate; it has no UTF-8 encoding', { details: {} });
  }
}

/** One argument as virsh's parser reads it back unchanged. */
export function quoteVirshArg(arg: string): string {
  assertPassable(arg);
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A whole virsh command line (no trailing newline) from an argv array. */
export function virshCommandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new AtpError('ATP_LIBVIRT_ARGUMENT', 'empty virsh command', { details: {} });
  return argv.map(quoteVirshArg).join(' ');
}

/**
 * JSON text with every character outside printable ASCII escaped as \uXXXX:
 * the same value once parsed, safe for any line-oriented reader.
 */
export function asciiJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value) as string | undefined;
  } catch (cause) {
    throw new AtpError('ATP_SCHEMA_INVALID', 'value cannot be encoded as JSON (cycle or BigInt)', { cause });
  }
  if (text === undefined) throw new AtpError('ATP_SCHEMA_INVALID', `a ${typeof value} cannot be encoded as JSON`);
  // JSON.stringify already escapes C0 controls in strings; this adds DEL and non-ASCII (surrogates stay pairs of escapes).
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
