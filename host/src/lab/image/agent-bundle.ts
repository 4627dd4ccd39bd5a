/**
 * Turns the guest agent into one self-contained ES module for the initramfs:
 * esbuild bundles the entry and everything it imports (workspace packages and
 * node_modules), so the guest needs only the `node` binary. Accepts the entry
 * file itself or a directory holding main.js (e.g. guest-agent/dist).
 * esbuild is the repo's (node_modules/.bin/esbuild, from tsx), run as a program.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtpError } from '@atp/protocol';
import { findExecutable, prerequisiteError } from '../prereqs.js';
import { runCommand } from '../run-command.js';

/** CJS dependencies (ws, commander) call require(); an ES module bundle needs one. */
const REQUIRE_BANNER = "import { createRequire as __atpCreateRequire } from 'node:module'; const require = __atpCreateRequire(import.meta.url);";

/** node_modules/.bin/esbuild in a parent of this module, else on PATH. */
export function findEsbuild(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'node_modules', '.bin', 'esbuild');
    if (existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return findExecutable('esbuild');
}

/** The file to bundle for `source` (a .js/.mjs/.cjs/.ts file, or a directory with main.js). */
export function agentEntry(source: string): string {
  const resolved = path.resolve(source);
  let stat;
  try {
    stat = statSync(resolved);
  } catch (cause) {
    throw new AtpError('ATP_LAB_IMAGE', `agent payload ${resolved} does not exist (build the agent first: npx tsc -b)`, { cause, details: { path: resolved } });
  }
  if (stat.isFile()) return resolved;
  const main = path.join(resolved, 'main.js');
  if (!existsSync(main)) throw new AtpError('ATP_LAB_IMAGE', `agent directory ${resolved} has no main.js`, { details: { path: resolved } });
  return main;
}

/**
 * Bundles the agent and returns the bytes of /opt/atp/agent.mjs. `aliases`
 * maps package names to files (e.g. '@atp/protocol' to its src/index.ts, so a
 * bundle of the workspace sources never picks up a stale dist/).
 */
export async function bundleAgent(source: string, aliases: Readonly<Record<string, string>> = {}): Promise<Uint8Array> {
  const entry = agentEntry(source);
  const esbuild = findEsbuild();
  if (!esbuild) throw prerequisiteError([{ what: 'esbuild', hint: 'run `npm ci` in the ATP repository (esbuild comes with its dev dependencies)' }]);
  const out = await mkdtemp(path.join(os.tmpdir(), 'atp-agent-bundle-'));
  try {
    const outfile = path.join(out, 'agent.mjs');
    await runCommand(esbuild, [
      entry,
      '--bundle',
      '--platform=node',
      '--target=node20',
      '--format=esm',
      `--outfile=${outfile}`,
      `--banner:js=${REQUIRE_BANNER}`,
      '--define:process.env.WS_NO_BUFFER_UTIL="1"',
      '--define:process.env.WS_NO_UTF_8_VALIDATE="1"',
      '--log-level=error',
      ...Object.entries(aliases).map(([name, file]) => `--alias:${name}=${path.resolve(file)}`),
    ]);
    return new Uint8Array(await readFile(outfile));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
