import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { AtpError } from '../src/errors.js';
import { formatPath, parseWith } from '../src/validate.js';
import type { ValidationIssue } from '../src/validate.js';

const schema = z.strictObject({ body: z.object({ events: z.array(z.object({ seq: z.number() })), mode: z.enum(['a', 'b']).optional() }) });

function caught(fn: () => unknown): AtpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AtpError) return e;
    throw e;
  }
  throw new Error('expected a throw');
}

describe('parseWith', () => {
  it('returns the parsed value', () => {
    expect(parseWith(schema, { body: { events: [{ seq: 1 }] } })).toEqual({ body: { events: [{ seq: 1 }] } });
  });

  it('names the field by path and the source, with every issue in details', () => {
    const value = { body: { events: [{ seq: 1 }, { seq: 2 }, { seq: 3 }, { seq: '4' }], mode: 'c' }, extra: 1 };
    const err = caught(() => parseWith(schema, value, { source: 'agent a1', what: 'message' }));
    expect(err.code).toBe('ATP_SCHEMA_INVALID');
    expect(err.message).toMatch(/^agent a1: invalid message: /);
    expect(err.message).toContain('body.events[3].seq: expected number, got string');
    expect(err.message).toContain('body.mode: expected "a" | "b", got "c"');
    expect(err.message).toContain('extra: unknown field');
    expect(err.details['source']).toBe('agent a1');
    const issues = err.details['issues'] as ValidationIssue[];
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining([['body', 'events', 3, 'seq'], ['body', 'mode'], ['extra']]));
  });

  it('never echoes a whole input object into the error', () => {
    const err = caught(() => parseWith(z.object({ token: z.number() }), { token: 'secret-token-value' }));
    expect(JSON.stringify(err.details)).not.toContain('secret-token-value');
  });

  it('works without any context', () => {
    expect(caught(() => parseWith(z.number(), null)).message).toBe('(root): expected number, got null');
  });
});

describe('formatPath', () => {
  it('writes keys, indices and odd keys like a JavaScript reader would', () => {
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['steps', 3, 'click'])).toBe('steps[3].click');
    expect(formatPath([0, 'a'])).toBe('[0].a');
    expect(formatPath(['env', 'LC ALL'])).toBe('env["LC ALL"]');
    expect(formatPath(['capture-start'])).toBe('capture-start');
  });
});
