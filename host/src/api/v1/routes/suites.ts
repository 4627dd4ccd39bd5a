/**
 * /api/v1/suites: the suite files in the server's suite directories, each
 * checked as `atp-host scenario list --json` checks it, and validating one
 * suite (inline YAML, or a file in those directories) as `atp-host scenario
 * validate --json` does, with each issue at file:line:column
 * (scenario/check-suite.ts).
 *
 * The suite directories are `context.services.get('suiteDirs')` (a string
 * array, set by whoever builds the context), by default the repository's
 * scenarios/. A `path` is only read when it lies inside one of them (after
 * resolving symbolic links): the API does not open arbitrary server files.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtpError, ApiSuiteCheckSchema, ApiSuiteListSchema, ApiSuiteValidateBodySchema } from '@atp/protocol';
import { getLayout } from '../../../inject/index.js';
import { checkSuiteFile, checkSuiteText, suiteFilesIn, type SuiteCheck } from '../../../scenario/check-suite.js';
import type { ApiContext } from '../context.js';
import { defineRoute, type ApiRoute } from '../route.js';

/** The repository's scenarios/ (from host/src/api/v1/routes or host/dist/api/v1/routes). */
export const DEFAULT_SUITE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../scenarios');
/** The services key of the suite directories. */
export const SUITE_DIRS_SERVICE = 'suiteDirs';

/** The server's suite directories, absolute. */
export function suiteDirs(context: Pick<ApiContext, 'services'>): string[] {
  const configured = context.services.get(SUITE_DIRS_SERVICE);
  if (Array.isArray(configured) && configured.length > 0 && configured.every((d): d is string => typeof d === 'string')) return configured.map((d) => path.resolve(d));
  return [DEFAULT_SUITE_DIR];
}

const inside = (dir: string, file: string): boolean => {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/**
 * A suite file named by the client: relative to a suite directory (the first
 * that has it) or absolute inside one, a *.yaml / *.yml, resolved through
 * symbolic links without leaving the directory. ATP_SCHEMA_INVALID (field
 * path) for anything else, ATP_API_NOT_FOUND when no directory holds it.
 */
export async function resolveSuitePath(requested: string, dirs: readonly string[]): Promise<string> {
  const refuse = (why: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `path ${JSON.stringify(requested)}: ${why}`, { details: { field: 'path', value: requested } });
  if (!/\.ya?ml$/i.test(requested)) throw refuse('a suite file ends in .yaml or .yml');
  if (requested.includes('\0')) throw refuse('contains a NUL byte');
  let inAnyDir = false;
  for (const dir of dirs) {
    const file = path.resolve(dir, requested);
    if (!inside(dir, file)) continue;
    inAnyDir = true;
    const real = await realpath(file).catch(() => undefined);
    if (real === undefined) continue;
    if (!inside(await realpath(dir), real)) throw refuse('leads outside the suite directories');
    return file;
  }
  if (!inAnyDir) throw refuse(`not inside the suite directories (${dirs.join(', ')})`);
  throw new AtpError('ATP_API_NOT_FOUND', `no suite file ${JSON.stringify(requested)} in ${dirs.join(', ')}`, { details: { field: 'path', value: requested } });
}

export function suiteRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/suites',
      summary: "The suite files in the server's suite directories, each loaded and planned as verify would",
      tag: 'suites',
      response: ApiSuiteListSchema,
      handler: async (_request, context) => {
        const dirs = suiteDirs(context);
        const suites: SuiteCheck[] = [];
        for (const dir of dirs) for (const file of await suiteFilesIn(dir)) suites.push(await checkSuiteFile(file));
        return { dirs, suites };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/suites/validate',
      summary: 'Validate a suite (inline YAML, or a file in the suite directories): the result with file:line:column issues',
      tag: 'suites',
      body: ApiSuiteValidateBodySchema,
      response: ApiSuiteCheckSchema,
      handler: async ({ body }, context) => {
        if (body.layout !== undefined) getLayout(body.layout);
        const options = { withIssues: true, ...(body.layout === undefined ? {} : { layout: body.layout }) };
        if ('yaml' in body) return checkSuiteText(body.yaml, body.name ?? 'inline.yaml', options);
        return checkSuiteFile(await resolveSuitePath(body.path, suiteDirs(context)), options);
      },
    }),
  ];
}
