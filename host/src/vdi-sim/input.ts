/**
 * Reading request input with zod: query parameters (strings; the first one
 * when repeated) and JSON bodies. A problem becomes a SimFailure with status
 * 1001 and a msg naming the field ("amount: must be an integer from 1 to 100").
 * Also the paging rule of the page endpoints: `pageNum` from 1 (default 1),
 * `pageSize` default 10, capped at MAX_PAGE_SIZE; answers are
 * `{list, total, pageNum, pageSize, pages}`.
 */
import { z } from 'zod';
import { badRequest } from './envelope.js';

/** Parses `value` with `schema`; the first problems name their field in a 1001 failure. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: 'body' | 'query'): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 3).map((issue) => {
    const field = issue.path.length === 0 ? what : issue.path.map(String).join('.');
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    return `${field}: ${missing ? 'is required' : issue.message}`;
  });
  throw badRequest(problems.join('; '));
}

/** A query value: the first one when the parameter is repeated. */
const first = (v: unknown): unknown => (Array.isArray(v) ? (v as unknown[])[0] : v);

export function queryInt(min: number, max: number) {
  return z.preprocess(
    first,
    z
      .string()
      .trim()
      .regex(/^[+-]?\d{1,10}$/, `must be an integer from ${min} to ${max}`)
      .transform(Number)
      .pipe(z.number().int().min(min, `must be an integer from ${min} to ${max}`).max(max, `must be an integer from ${min} to ${max}`)),
  );
}

export const queryText = z.preprocess(first, z.string().max(1024));

/** A list of integers: repeated parameters and/or comma-separated values. */
export function queryIntList(min: number, max: number) {
  return z.preprocess(
    (v) => (Array.isArray(v) ? v : [v]).flatMap((s: unknown) => (typeof s === 'string' ? s.split(',') : [s])).filter((s) => s !== ''),
    z.array(
      z
        .string()
        .trim()
        .regex(/^\d{1,10}$/, `must list integers from ${min} to ${max}`)
        .transform(Number)
        .pipe(z.number().int().min(min).max(max)),
    ),
  );
}

export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 10;

export const pagingShape = {
  pageNum: queryInt(1, 1_000_000).optional(),
  pageSize: queryInt(1, 1_000_000).optional(),
};

export interface PageResult<T> {
  list: T[];
  total: number;
  pageNum: number;
  pageSize: number;
  pages: number;
}

export function page<T>(items: readonly T[], paging: { pageNum?: number | undefined; pageSize?: number | undefined }): PageResult<T> {
  const pageNum = paging.pageNum ?? 1;
  const pageSize = Math.min(paging.pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const start = (pageNum - 1) * pageSize;
  return { list: items.slice(start, start + pageSize), total: items.length, pageNum, pageSize, pages: Math.ceil(items.length / pageSize) };
}
