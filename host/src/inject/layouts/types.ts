/**
 * Shapes of the generated layout data (layouts.gen.ts) and of a resolved
 * keystroke. Hand-written: types only, no data.
 */
import type { KeyId } from '@atp/protocol';

/** 1 = no modifier, 2 = Shift, 3 = AltGr (XKB LevelThree), 4 = Shift+AltGr. Caps Lock is assumed off. */
export type Level = 1 | 2 | 3 | 4;

/** One key pressed at one level. */
export interface KeyStroke {
  key: KeyId;
  level: Level;
}

export interface DeadKeyData {
  /** XKB keysym name, e.g. 'dead_circumflex'. */
  readonly keysym: string;
  readonly key: KeyId;
  readonly level: Level;
  /** [following character (typed directly on this layout), produced character], from libX11's Compose table. */
  readonly compose: readonly (readonly [string, string])[];
}

export interface LayoutData {
  /** Short id used in scenarios: 'us', 'de', 'fr'. */
  readonly id: string;
  /** The layout's XKB name[Group1], e.g. 'German'. */
  readonly description: string;
  /** The XKB symbols it was resolved from, e.g. 'pc(pc105)+de(basic)'. */
  readonly symbols: string;
  /** Key pressed for level 2 (the key whose level 1 is Shift_L). */
  readonly shiftKey: KeyId;
  /** Key pressed for levels 3 and 4 (the key whose level 1 is ISO_Level3_Shift); absent when the layout has no level 3. */
  readonly altGrKey?: KeyId;
  /** [character, key, level]: the characters typed by one key at one level, best key first chosen (see the generator). */
  readonly chars: readonly (readonly [string, KeyId, Level])[];
  readonly deadKeys: readonly DeadKeyData[];
}
