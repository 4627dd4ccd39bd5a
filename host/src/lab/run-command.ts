/**
 * Runs an external program for the lab (apt-get, dpkg-deb, ldd, esbuild):
 * execFile with an argument array (never a shell), LC_ALL=C so messages can be
 * matched, output captured, failures turned into AtpError with the command
 * line and the tail of stderr.
 */
import { execFile } from 'node:child_process';
import { AtpError, type AtpErrorCode } from '@atp/protocol';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: Readonly<Record<string, string>>;
  /** Error code on failure (default ATP_LAB_IMAGE). */
  errorCode?: AtpErrorCode;
}

export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const code = options.errorCode ?? 'ATP_LAB_IMAGE';
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, LC_ALL: 'C', ...options.env },
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const line = [file, ...args].join(' ');
        const tail = stderr.trim().split('\n').slice(-8).join('\n');
        reject(
          new AtpError(code, `${line} failed: ${error.message.split('\n')[0] ?? ''}${tail ? `\n${tail}` : ''}`, {
            cause: error,
            details: { command: file, args: [...args], stderr: tail },
          }),
        );
      },
    );
  });
}
