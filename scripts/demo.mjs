#!/usr/bin/env node
/* global process, console */
// `npm run demo`: installs node modules when missing (npm ci), builds, then runs
// `atp-host verify --lab scenarios/smoke.yaml` with the built CLI. verify boots
// the lab VM, runs the suite, prints the summary and always stops the VM.
// Exits with verify's code (0 passed, 1 failed, 2 usage, 3 infrastructure).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command, args, what) {
  console.error(`demo: ${what}: ${[command, ...args].join(' ')}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.error) {
    console.error(`demo: cannot run ${command}: ${r.error.message}`);
    process.exit(3);
  }
  return r.status ?? 3;
}

if (!existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  if (run(npm, ['ci'], 'installing node modules') !== 0) process.exit(3);
}
if (run(npm, ['run', 'build'], 'building') !== 0) process.exit(3);
const code = run(process.execPath, [path.join(root, 'host', 'dist', 'cli', 'main.js'), 'verify', '--lab', path.join('scenarios', 'smoke.yaml'), ...process.argv.slice(2)], 'verifying scenarios/smoke.yaml on the lab VM');
process.exit(code);
