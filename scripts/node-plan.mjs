#!/usr/bin/env node
/* global process, console */
// Which Node runs this project (read by scripts/setup.sh and scripts/with-node.sh,
// run by whatever node the machine has, so no syntax newer than Node 16):
//   - the machine's node when it satisfies the root package.json's engines.node;
//   - else the pinned Node of the single-file agents (guest-agent/packaging/pinned.json:
//     the official binary from the npm package node-<platform>, whose sha256 is pinned
//     there), which scripts/setup.sh unpacks into
//     ${XDG_CACHE_HOME:-~/.cache}/atp/node/v<version>-<platform>/.
// One value per line, for `mapfile -t` in the shell:
//   machine <version>
//   pinned <version> <dir> <package> <file> <sha256>      (the binary is <dir>/<file>)
// Exits 1 with a message when neither works (no pin for this platform, or a pin that
// does not satisfy engines.node).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** ">=22.13" → [22, 13, 0]; only ">=" floors are used in this repository. */
export function parseFloor(range) {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(String(range).trim());
  if (!m) throw new Error(`engines.node ${JSON.stringify(range)}: only a ">=X.Y.Z" floor is understood here`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

/** Does Node `version` ("v22.23.3" or "22.23.3") satisfy the ">=" floor `range`? */
export function satisfies(version, range) {
  const v = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!v) return false;
  const floor = parseFloor(range);
  for (let i = 0; i < 3; i++) {
    const part = Number(v[i + 1]);
    if (part !== floor[i]) return part > floor[i];
  }
  return true;
}

const SHAPES = {
  package: /^(@[a-z0-9-]+\/)?[a-z0-9.-]+$/,
  version: /^\d+\.\d+\.\d+$/,
  file: /^[A-Za-z0-9_./-]+$/,
  sha256: /^[0-9a-f]{64}$/,
};

/**
 * The plan for `nodeVersion` on `platform`-`arch` (pure; see the header).
 * `pinned` is pinned.json's content, `cacheBase` the XDG cache dir.
 */
export function nodePlan({ nodeVersion, engines, pinned, platform, arch, cacheBase }) {
  parseFloor(engines);
  const version = String(nodeVersion).replace(/^v/, '');
  if (satisfies(version, engines)) return { kind: 'machine', version };
  const target = `${platform}-${arch}`;
  const pin = platform === 'linux' ? pinned?.nodes?.[target] : undefined;
  if (pin === undefined) {
    throw new Error(`node ${version} does not satisfy engines.node ${engines}, and guest-agent/packaging/pinned.json has no Node for ${target}: install Node ${engines.replace(/^>=\s*/, '')} or newer yourself`);
  }
  for (const [field, shape] of Object.entries(SHAPES)) {
    if (!shape.test(String(pin[field])) || String(pin[field]).split('/').includes('..')) throw new Error(`pinned.json nodes.${target}.${field} is malformed: ${JSON.stringify(pin[field])}`);
  }
  if (!satisfies(pin.version, engines)) {
    throw new Error(`pinned.json pins Node ${pin.version} for ${target}, which does not satisfy engines.node ${engines}: the single-file agents and the development Node must agree`);
  }
  return { kind: 'pinned', version: pin.version, dir: path.join(cacheBase, 'atp', 'node', `v${pin.version}-${target}`), package: pin.package, file: pin.file, sha256: pin.sha256 };
}

function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const engines = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).engines?.node;
  const pinned = JSON.parse(readFileSync(path.join(root, 'guest-agent', 'packaging', 'pinned.json'), 'utf8'));
  const cacheBase = process.env.XDG_CACHE_HOME ? path.resolve(process.env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  const plan = nodePlan({ nodeVersion: process.versions.node, engines, pinned, platform: process.platform, arch: process.arch, cacheBase });
  const fields = plan.kind === 'machine' ? [plan.kind, plan.version] : [plan.kind, plan.version, plan.dir, plan.package, plan.file, plan.sha256];
  if (fields.some((f) => /[\n\r]/.test(f))) throw new Error('a path holds a newline');
  process.stdout.write(`${fields.join('\n')}\n`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(`node-plan: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
