/**
 * Publishes a finished cache directory atomically. Several builders (parallel
 * test files on a cold cache) may finish the same entry at once: the target
 * only ever appears through one rename of a complete tree, so whoever renames
 * first wins and the others find the marker and keep the winner's copy.
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';

export async function publishDir(tmp: string, dir: string, marker: string): Promise<void> {
  const done = (): boolean => existsSync(path.join(dir, marker));
  if (done()) return;
  try {
    await rename(tmp, dir);
    return;
  } catch {
    if (done()) return;
  }
  // A directory without the marker is a leftover of an older layout: replace it once.
  await rm(dir, { recursive: true, force: true });
  try {
    await rename(tmp, dir);
  } catch (error) {
    if (!done()) throw error;
  }
}
