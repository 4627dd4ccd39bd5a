import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishDir } from '../src/lab/image/publish-dir.js';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
});

async function finishedTree(root: string, name: string, content: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  await writeFile(path.join(dir, 'data'), content);
  await writeFile(path.join(dir, 'marker'), 'ok');
  return dir;
}

describe('publishDir (cache entries finished by several builders at once)', () => {
  it('lets the first rename win and every other builder succeed with the winner in place', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'atp-publish-'));
    roots.push(root);
    const target = path.join(root, 'entry');
    const trees = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => finishedTree(root, `tmp-${i}`, `builder ${i}`)));
    await Promise.all(trees.map((t) => publishDir(t, target, 'marker')));
    expect(existsSync(path.join(target, 'marker'))).toBe(true);
    expect(await readFile(path.join(target, 'data'), 'utf8')).toMatch(/^builder [0-5]$/);
  });

  it('replaces a leftover directory that has no marker', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'atp-publish-'));
    roots.push(root);
    const target = path.join(root, 'entry');
    await mkdir(target);
    await writeFile(path.join(target, 'half'), 'x');
    await publishDir(await finishedTree(root, 'tmp', 'fresh'), target, 'marker');
    expect(await readFile(path.join(target, 'data'), 'utf8')).toBe('fresh');
    expect(existsSync(path.join(target, 'half'))).toBe(false);
  });
});
