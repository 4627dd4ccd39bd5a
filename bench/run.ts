/**
 * Bench dispatcher: `npm run bench` runs every bench/*.bench.ts, `npm run bench -- qmp`
 * runs bench/qmp.bench.ts only. A bench module exports `run(): Promise<BenchResult>`;
 * it prints its own table and this file writes bench/results/<name>.json.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isBenchModule, writeResult } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const available = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !available.includes(w));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(', ')}; available: ${available.join(', ')}`);
    process.exit(2);
  }
  for (const name of wanted.length > 0 ? wanted : available) {
    const mod: unknown = await import(pathToFileURL(path.join(here, `${name}.bench.ts`)).href);
    if (!isBenchModule(mod)) throw new Error(`bench/${name}.bench.ts does not export run()`);
    console.log(`\n== bench: ${name}`);
    const result = await mod.run();
    const file = await writeResult(result);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
