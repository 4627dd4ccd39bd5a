/** `--vms` globs: `*`, `?`, `[abc]` / `[a-z]` / `[!abc]`, literal everything else; selection of running domains. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globToRegExp, selectDomains } from '../src/targets/vm-glob.js';
import type { DomainSummary } from '../src/vm/libvirt/index.js';

const matches = (glob: string, name: string): boolean => globToRegExp(glob).test(name);

describe('globToRegExp', () => {
  it('matches whole names with *, ? and classes', () => {
    expect(matches('web-*', 'web-1')).toBe(true);
    expect(matches('web-*', 'web-')).toBe(true);
    expect(matches('web-*', 'xweb-1')).toBe(false);
    expect(matches('web?', 'web1')).toBe(true);
    expect(matches('web?', 'web12')).toBe(false);
    expect(matches('web?', 'web')).toBe(false);
    expect(matches('node[135]', 'node3')).toBe(true);
    expect(matches('node[135]', 'node2')).toBe(false);
    expect(matches('node[1-3]', 'node2')).toBe(true);
    expect(matches('node[1-3]', 'node4')).toBe(false);
    expect(matches('node[!1-3]', 'node4')).toBe(true);
    expect(matches('node[!1-3]', 'node2')).toBe(false);
    expect(matches('node[^a]', 'nodeb')).toBe(true);
    expect(matches('a[-x]', 'a-')).toBe(true);
    expect(matches('a[x-]', 'a-')).toBe(true);
    expect(matches('a[]x]', 'a]')).toBe(true);
    expect(matches('*', 'anything at all')).toBe(true);
  });

  it('takes regex metacharacters literally', () => {
    expect(matches('a.b', 'a.b')).toBe(true);
    expect(matches('a.b', 'axb')).toBe(false);
    expect(matches('a+(b)|c$^{2}\\', 'a+(b)|c$^{2}\\')).toBe(true);
    expect(matches('vm-1', 'vm-1')).toBe(true);
  });

  it('rejects empty globs, unclosed and empty classes and reversed ranges as usage errors', () => {
    for (const bad of ['', 'web[12', 'web[', 'x[z-a]']) {
      expect(() => globToRegExp(bad), bad).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: expect.objectContaining({ field: 'vms', value: bad }) }));
    }
  });

  it('property: a glob without wildcards matches exactly itself; NAME* matches every extension', () => {
    const literal = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[*?[]/.test(s));
    fc.assert(
      fc.property(literal, fc.string({ maxLength: 10 }), fc.string({ minLength: 1, maxLength: 5 }), (name, tail, other) => {
        expect(matches(name, name)).toBe(true);
        expect(matches(name, name + other)).toBe(false);
        expect(matches(`${name}*`, name + tail)).toBe(true);
        expect(matches(`${name}${'?'.repeat(other.length)}`, name + other)).toBe(true);
      }),
    );
  });
});

describe('selectDomains', () => {
  const domains: DomainSummary[] = [
    { name: 'web-1', id: 1, state: 'running' },
    { name: 'web-2', id: undefined, state: 'shutoff' },
    { name: 'web-3', id: 3, state: 'paused' },
    { name: 'db-1', id: 4, state: 'running' },
  ];

  it('keeps running (or paused) matches in order and lists the stopped ones as skipped', () => {
    const s = selectDomains('web-*', domains);
    expect(s.matched.map((d) => d.name)).toEqual(['web-1', 'web-3']);
    expect(s.skipped.map((d) => d.name)).toEqual(['web-2']);
  });

  it('matches nothing when no name fits', () => {
    expect(selectDomains('mail-?', domains)).toEqual({ matched: [], skipped: [] });
  });
});
