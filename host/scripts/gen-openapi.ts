/**
 * Writes docs/openapi.json: the OpenAPI 3.1 document of /api/v1, built from
 * every route allRoutes() returns (host/src/api/v1/openapi.ts), the same
 * document GET /api/v1/openapi.json serves. `tsx gen-openapi.ts` writes it;
 * `--check` builds it in memory and exits 1 when the checked-in file differs
 * (`npm run gen:check`). Rerun `npm run gen:openapi` after adding or changing
 * a route or one of its schemas.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildOpenApi } from '../src/api/v1/openapi.js';
import { allRoutes } from '../src/api/v1/routes/index.js';

export const OUTPUT_PATH = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));

/** The document as the checked-in file holds it: 2-space JSON, ending with a newline. */
export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApi(allRoutes()), null, 2)}\n`;
}

/** Writes the file, or with --check returns 1 when the file on disk is stale. */
export function main(argv: readonly string[], output = OUTPUT_PATH): number {
  const generated = renderOpenApi();
  if (argv.includes('--check')) {
    let current: string | undefined;
    try {
      current = readFileSync(output, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== generated) {
      process.stderr.write(`${output} is stale or hand-edited: it differs from the document the API's routes describe. Run \`npm run gen:openapi\`.\n`);
      return 1;
    }
    process.stdout.write('docs/openapi.json is up to date.\n');
    return 0;
  }
  writeFileSync(output, generated);
  process.stdout.write(`wrote ${output}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
