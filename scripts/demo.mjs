#!/usr/bin/env node
/* global process, console */
// `npm run demo` runs scripts/setup.sh (Debian packages, Node 22, node modules,
// tsc -b), then this under the project's Node (scripts/with-node.sh): builds
// (`npm run build`), builds the lab image (the lab's own code, in this process, so the
// kernel download and the image build can be timed and sized), then runs
// `atp-host verify --lab scenarios/smoke.yaml` with the built CLI, which reuses that
// image, boots the lab VM (printing its boot time), runs the suite, prints the summary
// and always stops the VM. Prints how long each phase took.
// Exits with verify's code (0 passed, 1 failed, 2 usage, 3 infrastructure).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const args = process.argv.slice(2);
const started = Date.now();
const phases = [];

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const say = (line) => console.error(`demo: ${line}`);

function run(command, argv, what) {
  say(`${what}: ${[command, ...argv].join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(command, argv, { cwd: root, stdio: 'inherit' });
  if (r.error) {
    say(`cannot run ${command}: ${r.error.message}`);
    process.exit(3);
  }
  phases.push(`${what} ${seconds(Date.now() - t0)}`);
  return r.status ?? 3;
}

if (!existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  say('node_modules is missing: run `npm run demo` (it runs scripts/setup.sh first)');
  process.exit(3);
}
if (run(npm, ['run', 'build'], 'build') !== 0) process.exit(3);

/** .deb files in the lab cache with their sizes. */
function debs(dir) {
  try {
    return new Map(readdirSync(dir).filter((f) => f.endsWith('.deb')).map((f) => [f, statSync(path.join(dir, f)).size]));
  } catch {
    return new Map();
  }
}

/**
 * Builds (or reuses) the image `verify --lab` will boot, with the same inputs (the
 * checkout's agent sources, this node, the default cache), timing the download of
 * Debian's kernel and busybox apart from the rest. Skipped when the arguments change
 * the image (verify then builds it itself and prints its own lines).
 */
async function buildLabImage() {
  if (args.some((a) => /^--(cache-dir|lab-agent|agent-binary)(=|$)/.test(a))) return;
  let lab;
  let verifyLab;
  try {
    lab = await import(pathToFileURL(path.join(root, 'host', 'dist', 'lab', 'index.js')).href);
    verifyLab = await import(pathToFileURL(path.join(root, 'host', 'dist', 'targets', 'lab-target.js')).href);
  } catch (error) {
    say(`lab image: not timed here (${error instanceof Error ? error.message : String(error)}); verify builds it`);
    return;
  }
  const found = verifyLab.defaultLabAgent();
  if (found === undefined) return;
  const cacheDir = lab.defaultCacheDir();
  const debsDir = path.join(cacheDir, 'debs');
  const before = debs(debsDir);
  let downloadSince;
  let downloadMs = 0;
  const log = (line) => {
    const now = Date.now();
    if (downloadSince !== undefined) downloadMs += now - downloadSince;
    downloadSince = line.startsWith('apt-get download ') ? now : undefined;
    console.error(`lab: ${line}`);
  };
  say(`lab image: Debian's kernel and busybox (apt-get download, cached in ${cacheDir}), qemu-ga, node and the bundled agent`);
  const t0 = Date.now();
  let image;
  try {
    image = await lab.buildImage({ cacheDir, agent: found.agent, agentAliases: found.aliases, log });
  } catch (error) {
    say(`lab image: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(3);
  }
  const totalMs = Date.now() - t0;
  const fetched = [...debs(debsDir)].filter(([f]) => !before.has(f));
  if (fetched.length > 0) {
    const bytes = fetched.reduce((sum, [, size]) => sum + size, 0);
    say(`lab image: downloaded ${fetched.map(([f, size]) => `${f} (${mb(size)})`).join(', ')}: ${mb(bytes)} in ${seconds(downloadMs)}`);
    phases.push(`download ${mb(bytes)} ${seconds(downloadMs)}`);
  } else {
    say(`lab image: ${image.kernelPackage} already downloaded`);
  }
  say(`lab image: ${image.reused ? 'reused' : 'built'} ${image.hash.slice(0, 12)}, kernel ${image.kernelRelease}, initrd ${mb(image.initrdBytes)}, ${seconds(totalMs - downloadMs)}${fetched.length > 0 ? ' besides the download' : ''}`);
  phases.push(`image ${seconds(totalMs - downloadMs)}`);
}

await buildLabImage();

// verify: its stdout (the summary) and stderr (progress, lab lines) go straight to the terminal.
const verifyArgs = [path.join(root, 'host', 'dist', 'cli', 'main.js'), 'verify', '--lab', path.join('scenarios', 'smoke.yaml'), ...args];
say(`verify scenarios/smoke.yaml on the lab VM (boot time below): ${[path.basename(process.execPath), ...verifyArgs].join(' ')}`);
const t0 = Date.now();
const child = spawn(process.execPath, verifyArgs, { cwd: root, stdio: 'inherit' });
// Ctrl-C reaches verify too (same process group): it stops the VM; wait for it.
const forward = (signal) => child.kill(signal);
process.on('SIGINT', () => undefined);
process.on('SIGTERM', forward);
process.on('SIGHUP', forward);
const code = await new Promise((resolve) => {
  child.once('error', (error) => {
    say(`cannot run verify: ${error.message}`);
    resolve(3);
  });
  child.once('exit', (status) => resolve(status ?? 3));
});
phases.push(`verify ${seconds(Date.now() - t0)}`);
say(`${phases.join(', ')}; total ${seconds(Date.now() - started)} (setup is timed above); exit ${code}`);
process.exit(code);
