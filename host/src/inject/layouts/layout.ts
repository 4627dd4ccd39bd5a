/**
 * Which keys type a character on a layout. The data is generated (layouts.gen.ts);
 * this module only indexes it and adds dead-key sequences:
 *
 * A character no key types directly is typed as a dead key followed by a
 * character that is typed directly (Compose data). Among several such sequences
 * the one with the lowest level sum wins, then the dead key listed first in the
 * data (lowest level, then key), then the lowest following code point, so '^' on
 * de is dead_circumflex (KEY_GRAVE) + space.
 */
import { AtpError } from '@atp/protocol';
import { LAYOUTS } from './layouts.gen.js';
import type { KeyStroke, LayoutData } from './types.js';

/** A resolved layout: every character it can type, each as one stroke or a dead key + one stroke. */
export interface Layout {
  readonly data: LayoutData;
  /** The strokes that type `ch` (one code point), or undefined. */
  strokes(ch: string): readonly KeyStroke[] | undefined;
  /** Every character the layout types directly (one key, one level). */
  directChars(): string[];
  /** Every character typed through a dead key. */
  composedChars(): string[];
}

const levelSum = (s: readonly KeyStroke[]): number => s.reduce((n, k) => n + k.level, 0);

export function makeLayout(data: LayoutData): Layout {
  const direct = new Map<string, KeyStroke[]>();
  for (const [ch, key, level] of data.chars) direct.set(ch, [{ key, level }]);
  const composed = new Map<string, KeyStroke[]>();
  for (const dead of data.deadKeys) {
    for (const [follower, result] of dead.compose) {
      const next = direct.get(follower)?.[0];
      if (next === undefined || direct.has(result)) continue;
      const candidate: KeyStroke[] = [{ key: dead.key, level: dead.level }, next];
      const old = composed.get(result);
      // Dead keys come in preference order, followers in code point order: only a strictly lower level sum replaces.
      if (old === undefined || levelSum(candidate) < levelSum(old)) composed.set(result, candidate);
    }
  }
  return {
    data,
    strokes: (ch) => direct.get(ch) ?? composed.get(ch),
    directChars: () => [...direct.keys()],
    composedChars: () => [...composed.keys()],
  };
}

const CACHE = new Map<string, Layout>();

export function layoutIds(): string[] {
  return LAYOUTS.map((l) => l.id);
}

/** The layout with this id ('us', 'de', 'fr'); ATP_INJECT_LAYOUT_UNKNOWN otherwise. */
export function getLayout(id: string): Layout {
  const cached = CACHE.get(id);
  if (cached !== undefined) return cached;
  const data = LAYOUTS.find((l) => l.id === id);
  if (data === undefined) {
    throw new AtpError('ATP_INJECT_LAYOUT_UNKNOWN', `Unknown keyboard layout '${id}'; known layouts: ${layoutIds().join(', ')}`, {
      details: { layout: id, known: layoutIds() },
    });
  }
  const layout = makeLayout(data);
  CACHE.set(id, layout);
  return layout;
}
