/**
 * Steps 2–4 of the agent build (Node Single Executable Applications):
 * the preparation blob, made by the pinned Linux x64 Node (the same version as
 * every target binary: a mismatch crashes at start), with the V8 flags every
 * executable starts with (SEA_EXEC_ARGV) and, for linux-x64 only, a code cache
 * (made by that same Node with the same flags; other platforms cannot load
 * it, so their blobs have none), then per target a copy of the
 * official Node binary with its Authenticode signature removed (Windows), the
 * blob injected by postject at the SEA sentinel fuse, and optionally a new
 * signature (osslsigncode with a PKCS#12 certificate; unsigned by default).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, copyFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { AtpError } from '@atp/protocol';
import type { AgentTarget } from './pinned.js';

const run = promisify(execFile);
const localRequire = createRequire(import.meta.url);

export const SEA_SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

/** Authenticode signing of the Windows executable; the password is read from an environment variable, never a flag. */
export interface SignOptions {
  /** PKCS#12 (.pfx) file with the certificate and key. */
  pkcs12: string;
  /** Name of the environment variable holding the .pfx password (default ATP_SIGN_PASSWORD). */
  passwordEnv?: string;
  /** RFC 3161 timestamp server URL; none by default (a build host here has no network). */
  timestampUrl?: string;
}

async function step(what: string, file: string, args: string[], timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout } = await run(file, args, { maxBuffer: 16 * 1024 * 1024, timeout: timeoutMs });
    return stdout;
  } catch (cause) {
    const stderr = (cause as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim().split('\n').slice(-5).join(' | ') : String(cause);
    throw new AtpError('ATP_PACKAGING_BUILD', `${what} failed: ${detail}`, { cause, details: { command: [file, ...args] } });
  }
}

/**
 * V8 flags baked into every executable (sea-config `execArgv`), measured by
 * `npm run bench -- agent`: a 1 MiB semi-space keeps the young generation (and
 * the start peak) small; TurboFan waits for 3.3x more calls than V8's default
 * (3000, and 800 for OSR), so neither the start nor the idle agent runs the
 * optimising compiler (its code pages, about 5 MB, stay out of RSS; 2x the
 * default is not enough), while an event stream still gets optimised code:
 * agent CPU per event over four bursts of 20,000 is 21 / 13 / 10 / 8.5 µs
 * (V8's defaults: 20.5 / 8.5 / 6.5 / 6; 30,000 calls: still 12.5 at the 4th).
 * --jitless / --lite-mode save as much RSS but stay at about 30 µs per event.
 */
export const SEA_EXEC_ARGV: readonly string[] = ['--max-semi-space-size=1', '--invocation-count-for-turbofan=10000', '--invocation-count-for-osr=2700'];

/** What goes into one target's blob besides the bundle and its assets. */
export interface SeaOptions {
  execArgv: readonly string[];
  /** A V8 code cache of the bundle; only loadable by the platform (and flags) that made it. */
  useCodeCache: boolean;
}

/** The shipped recipe: SEA_EXEC_ARGV everywhere, a code cache where the blob maker is the target (linux-x64). */
export function defaultSeaOptions(target: AgentTarget): SeaOptions {
  return { execArgv: SEA_EXEC_ARGV, useCodeCache: target === 'linux-x64' };
}

/** The sea-config.json object for one blob. */
export function seaConfig(options: { bundle: string; blob: string; assets: Record<string, string>; sea: SeaOptions }): Record<string, unknown> {
  return {
    main: options.bundle,
    output: options.blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: options.sea.useCodeCache,
    ...(options.sea.execArgv.length > 0 ? { execArgv: [...options.sea.execArgv] } : {}),
    assets: options.assets,
  };
}

/**
 * Writes the SEA config and makes the blob with `node` (the pinned Linux x64
 * Node, which must run on this machine). With a code cache, that Node runs
 * with the executable's flags, so the cache matches the flags it is loaded under.
 */
export async function makeSeaBlob(options: { node: string; bundle: string; blob: string; assets: Record<string, string>; workDir: string; sea: SeaOptions }): Promise<void> {
  const config = path.join(options.workDir, 'sea-config.json');
  await writeFile(config, JSON.stringify(seaConfig(options), null, 2));
  const flags = options.sea.useCodeCache ? [...options.sea.execArgv] : [];
  await step('making the SEA blob (node --experimental-sea-config)', options.node, [...flags, '--experimental-sea-config', config]);
}

function requireTool(name: string): string {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin']);
  return dirs.map((d) => path.join(d, name)).find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }) ?? name;
}

/** Copies `nodeBinary` to `out`, removes its signature (Windows), injects the blob, signs when asked. */
export async function injectSea(options: { target: AgentTarget; nodeBinary: string; blob: string; out: string; workDir: string; sign?: SignOptions }): Promise<void> {
  const windows = options.target.startsWith('win-');
  await rm(options.out, { force: true });
  if (windows) {
    // osslsigncode refuses to overwrite: write the unsigned copy straight to `out`.
    await step('removing the Node signature (osslsigncode remove-signature)', requireTool('osslsigncode'), ['remove-signature', '-in', options.nodeBinary, '-out', options.out]);
  } else {
    await copyFile(options.nodeBinary, options.out);
  }
  await chmod(options.out, 0o755);
  const postject = localRequire.resolve('postject/dist/cli.js');
  await step('injecting the SEA blob (postject)', process.execPath, [postject, options.out, SEA_RESOURCE, options.blob, '--sentinel-fuse', SEA_SENTINEL_FUSE]);
  if (windows && options.sign !== undefined) await signWindows(options.out, options.sign, options.workDir);
}

async function signWindows(file: string, sign: SignOptions, workDir: string): Promise<void> {
  const passwordEnv = sign.passwordEnv ?? 'ATP_SIGN_PASSWORD';
  const password = process.env[passwordEnv];
  const signed = path.join(workDir, `signed-${path.basename(file)}`);
  const args = ['sign', '-pkcs12', sign.pkcs12, '-n', 'ATP guest agent', '-h', 'sha256', '-in', file, '-out', signed];
  if (password !== undefined) args.splice(3, 0, '-readpass', await passFile(workDir, password));
  if (sign.timestampUrl !== undefined) args.splice(args.indexOf('-in'), 0, '-ts', sign.timestampUrl);
  await step('signing (osslsigncode sign)', requireTool('osslsigncode'), args);
  await rm(file, { force: true });
  await copyFile(signed, file);
  await rm(signed, { force: true });
}

/** The password goes to osslsigncode in a 0600 file, so it never shows in a process list. */
async function passFile(workDir: string, password: string): Promise<string> {
  const file = path.join(workDir, 'sign.pass');
  await writeFile(file, password, { mode: 0o600 });
  return file;
}
