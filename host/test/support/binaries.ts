/**
 * Tests that need a real component find it here or fail loudly with the command
 * that installs it. They never skip: .ci/run installs everything they need.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export function findBinary(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/usr/local/bin', ...extraDirs];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The absolute path of `name`, or an error naming the apt package to install. */
export function requireBinary(name: string, debianPackage: string): string {
  const found = findBinary(name);
  if (!found) {
    throw new Error(`${name} is required by this test and was not found. Install it with: apt-get install -y ${debianPackage} (.ci/run does this)`);
  }
  return found;
}
