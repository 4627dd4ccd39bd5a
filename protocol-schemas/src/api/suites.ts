/**
 * /api/v1/suites: the suite files in the server's suite directories (by
 * default the repository's scenarios/), each loaded and planned as `verify`
 * would, like `atp-host scenario list --json`; and validating one suite, given
 * inline (`yaml`, named `name`) or as a file in those directories (`path`),
 * like `atp-host scenario validate --json`, with every problem placed at
 * file:line:column.
 */
import { z } from 'zod';

/** One problem of a suite file, placed in its text (1-based line and column). */
export const ApiSuiteIssueSchema = z.strictObject({
  /** Where in the suite, as a JavaScript reader writes it: steps[2].press. */
  path: z.string(),
  line: z.number().int(),
  column: z.number().int(),
  message: z.string(),
  code: z.string(),
});

export const ApiSuiteProblemSchema = z.strictObject({
  code: z.string(),
  /** Every line of it names the file (file:line:column: ...). */
  message: z.string(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  /** Each schema or input problem with its place (validate only). */
  issues: z.array(ApiSuiteIssueSchema).optional(),
});

export const ApiSuiteCheckSchema = z.discriminatedUnion('ok', [
  z.strictObject({
    file: z.string(),
    ok: z.literal(true),
    /** 1: input on one VM; 2: platform steps and input on a desk pool's VMs. */
    version: z.union([z.literal(1), z.literal(2)]),
    name: z.string(),
    steps: z.number().int(),
    /** Key downs and ups the plan sends. */
    keys: z.number().int(),
    textChars: z.number().int(),
    pointerActions: z.number().int(),
    /** "agent", "web" or "kind:id". */
    observer: z.string(),
    layout: z.string(),
  }),
  z.strictObject({ file: z.string(), ok: z.literal(false), error: ApiSuiteProblemSchema }),
]);
export type ApiSuiteCheck = z.output<typeof ApiSuiteCheckSchema>;

export const ApiSuiteListSchema = z.strictObject({
  /** The directories searched (absolute), in order. */
  dirs: z.array(z.string()),
  /** Every *.yaml / *.yml directly in them, sorted by file name per directory; `file` is absolute. */
  suites: z.array(ApiSuiteCheckSchema),
});

const layout = z.string().min(1).max(32).optional();

/**
 * POST /api/v1/suites/validate: `{ yaml, name? }` checks text (named `name`,
 * default inline.yaml, in messages) or `{ path }` a file in the suite
 * directories (relative to one of them, or absolute inside one). `layout`
 * checks text against that layout instead of the suite's (verify --layout).
 */
export const ApiSuiteValidateBodySchema = z.union([
  z.strictObject({
    yaml: z.string().max(1024 * 1024),
    name: z.string().min(1).max(255).regex(/^[^/\\\0]+$/, 'a file name without / or \\').optional(),
    layout,
  }),
  z.strictObject({ path: z.string().min(1).max(4096), layout }),
]);
export type ApiSuiteValidateBody = z.output<typeof ApiSuiteValidateBodySchema>;
