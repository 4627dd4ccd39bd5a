/**
 * Builds the web console: esbuild bundles src/main.ts (with @atp/protocol from
 * its sources, so no prior tsc build is needed) into one console.js, and copies
 * index.html and console.css beside it. Unlike the web verifier page nothing is
 * inlined: `atp-host serve` serves the console at /console/ under a CSP without
 * inline scripts, so the page loads its bundle as a file of the same origin.
 *
 *   tsx web-console/scripts/build.ts [outDir]   (default web-console/dist)
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_CONSOLE_OUT = path.join(packageDir, 'dist');
const STATIC_FILES = ['index.html', 'console.css'];

export interface BuiltConsole {
  dir: string;
  /** Bytes of console.js. */
  scriptBytes: number;
}

export async function buildConsole(outDir: string = DEFAULT_CONSOLE_OUT, options: { minify?: boolean } = {}): Promise<BuiltConsole> {
  const result = await build({
    entryPoints: [path.join(packageDir, 'src', 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15', 'edge100'],
    minify: options.minify ?? true,
    legalComments: 'none',
    alias: { '@atp/protocol': path.join(packageDir, '..', 'protocol-schemas', 'src', 'index.ts') },
    logLevel: 'silent',
  });
  const script = result.outputFiles[0]?.text;
  if (script === undefined) throw new Error('esbuild produced no output');
  const html = await readFile(path.join(packageDir, 'static', 'index.html'), 'utf8');
  if (!html.includes('src="console.js"')) throw new Error('static/index.html does not load console.js');
  if (/<script>/i.test(html)) throw new Error('static/index.html has an inline script: the console CSP refuses it');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'console.js'), script);
  for (const file of STATIC_FILES) await copyFile(path.join(packageDir, 'static', file), path.join(outDir, file));
  return { dir: outDir, scriptBytes: Buffer.byteLength(script) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const built = await buildConsole(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]));
  console.log(`web console: ${built.dir} (console.js ${(built.scriptBytes / 1024).toFixed(0)} KiB)`);
}
