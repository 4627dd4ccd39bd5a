/**
 * Builds the web verifier page: esbuild bundles src/main.ts (with @atp/protocol
 * from its sources, so no prior tsc build is needed) and inlines the bundle and
 * the stylesheet into one self-contained index.html. One file works served by
 * `atp-host serve` at /verifier and opened as a plain file (file://…?hub=…).
 *
 *   tsx web-verifier/scripts/build.ts [outDir]   (default web-verifier/dist/page)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PAGE_DIR = path.join(packageDir, 'dist', 'page');

export interface BuiltPage {
  dir: string;
  htmlPath: string;
  bytes: number;
}

export async function buildVerifierPage(outDir: string = DEFAULT_PAGE_DIR, options: { minify?: boolean } = {}): Promise<BuiltPage> {
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
  // esbuild escapes "</script" inside strings; anything left would end the inline script early.
  if (/<\/script/i.test(script)) throw new Error('the bundle contains "</script" and cannot be inlined');
  const [template, css] = await Promise.all([
    readFile(path.join(packageDir, 'static', 'index.html'), 'utf8'),
    readFile(path.join(packageDir, 'static', 'verifier.css'), 'utf8'),
  ]);
  if (!template.includes('<!-- @css -->') || !template.includes('<!-- @script -->')) throw new Error('static/index.html lacks its @css / @script markers');
  const html = template.replace('<!-- @css -->', () => `<style>\n${css}</style>`).replace('<!-- @script -->', () => `<script>\n${script}</script>`);
  await mkdir(outDir, { recursive: true });
  const htmlPath = path.join(outDir, 'index.html');
  await writeFile(htmlPath, html);
  return { dir: outDir, htmlPath, bytes: Buffer.byteLength(html) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const built = await buildVerifierPage(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]));
  console.log(`web verifier page: ${built.htmlPath} (${(built.bytes / 1024).toFixed(0)} KiB)`);
}
