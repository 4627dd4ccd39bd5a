/**
 * The suites of a run request, loaded and planned before anything boots, as
 * `atp-host verify` prepares them: a suite is a file under one of the
 * server's suite dirs (the /api/v1/suites directories: a *.yaml / *.yml path
 * relative to one of them, or an absolute path inside one; symlinks are
 * followed and must still land inside), or YAML sent
 * inline with a name. Any problem is a 400 naming the suite: the loader's
 * ATP_SCENARIO_* errors carry file:line:column; a path outside the suite dirs
 * is ATP_SCHEMA_INVALID naming `suites[i]`. A version 2 suite (platform steps)
 * is refused: it runs through `atp-host verify` on its own.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { AtpError, type ApiRunRequest } from '@atp/protocol';
import type { RunSuiteSpec } from '../../../run/index.js';
import { loadSuite, parseSuiteText, planSuite, resolvePacing, type PacingFlags } from '../../../scenario/index.js';

const inside = (dir: string, file: string): boolean => {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

const realDir = (dir: string): string => {
  try {
    return realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
};

/** The real path of a suite file the client named, or a 400 saying why not. */
export function resolveSuitePath(given: string, index: number, suiteDirs: readonly string[]): string {
  const field = `suites[${index}]`;
  if (given.includes('\0') || !/\.ya?ml$/i.test(given)) throw new AtpError('ATP_SCHEMA_INVALID', `${field}: ${JSON.stringify(given)} is not a suite file (*.yaml, *.yml)`, { details: { field, value: given } });
  const dirs = suiteDirs.map(realDir);
  const candidates = path.isAbsolute(given) ? [given] : suiteDirs.map((d) => path.resolve(d, given));
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (dirs.some((d) => inside(d, real))) return real;
    throw new AtpError('ATP_SCHEMA_INVALID', `${field}: ${JSON.stringify(given)} is outside the server's suite dirs (${suiteDirs.join(', ')})`, { details: { field, value: given } });
  }
  throw new AtpError('ATP_SCENARIO_READ', `${field}: no suite file ${JSON.stringify(given)} in the server's suite dirs (${suiteDirs.join(', ')})`, { details: { field, source: given } });
}

export function pacingOf(request: ApiRunRequest): PacingFlags {
  const pacing: PacingFlags = {};
  if (request.pacing?.rate !== undefined) pacing.rate = request.pacing.rate;
  if (request.pacing?.closedLoop !== undefined && request.pacing.closedLoop !== false) pacing.closedLoop = request.pacing.closedLoop;
  return pacing;
}

/** Every suite of the request, loaded, checked and planned (throws the first problem). */
export async function loadRunSuites(request: ApiRunRequest, suiteDirs: readonly string[]): Promise<RunSuiteSpec[]> {
  const pacing = pacingOf(request);
  const specs: RunSuiteSpec[] = [];
  for (const [index, suite] of request.suites.entries()) {
    const loaded = typeof suite === 'string' ? await loadSuite(resolveSuitePath(suite, index, suiteDirs)) : parseSuiteText(suite.yaml, suite.name);
    if (request.layout !== undefined) loaded.scenario.target.layout = request.layout;
    resolvePacing(loaded.scenario.defaults, pacing);
    specs.push({ loaded, plan: planSuite(loaded.scenario) });
  }
  return specs;
}
