/**
 * Quoting for POSIX sh. SSH has no argv: an exec request carries one command
 * string, which the remote sshd hands to the remote user's login shell
 * (`$SHELL -c STRING`). So every argument is single-quoted: inside '…' a POSIX
 * shell takes every byte literally except ' itself, which becomes '\'' (close,
 * escaped quote, reopen). The result reads back as the same argv in sh, dash,
 * bash, ksh and zsh. A NUL byte cannot travel in a C string at all: refused.
 * Hand-written because it is six lines and must not depend on a library's idea
 * of "safe" characters. Pure.
 */
import { AtpError } from '@atp/protocol';

/** One argument as a POSIX shell reads it back unchanged. */
export function quoteShellArg(arg: string): string {
  if (arg.includes('\0')) throw new AtpError('ATP_SSH_ARGUMENT', `argument contains a NUL byte at index ${arg.indexOf('\0')}; no shell can receive it`, { details: { index: arg.indexOf('\0') } });
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A command line for `sh -c` from an argv array (argv[0] is the program). */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0 || argv[0] === '') throw new AtpError('ATP_SSH_ARGUMENT', 'empty remote command', { details: {} });
  return argv.map(quoteShellArg).join(' ');
}

/** `exec env K=V… ARGV…`: environment variables for the remote command (sshd ignores most env requests). */
export function shellCommandWithEnv(env: Readonly<Record<string, string>>, argv: readonly string[]): string {
  if (argv.length === 0 || argv[0] === '') throw new AtpError('ATP_SSH_ARGUMENT', 'empty remote command', { details: {} });
  const pairs = Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new AtpError('ATP_SSH_ARGUMENT', `invalid environment variable name ${JSON.stringify(k)}`, { details: { name: k } });
    return `${k}=${v}`;
  });
  return `exec ${shellCommand(pairs.length > 0 ? ['env', ...pairs, ...argv] : argv)}`;
}
