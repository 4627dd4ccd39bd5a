/**
 * Modifier names and the keys that hold them. Observers report modifiers as
 * names (the evdev agent: shift, ctrl, alt, meta, capslock, numlock; a web page
 * may add altgr). The comparison covers the four held modifiers only: lock
 * states (capslock, numlock) are toggles the sent sequence does not determine,
 * and 'altgr' counts as 'alt' because which name Right Alt gets depends on the
 * guest layout, not on the key that was sent.
 */

export const MODIFIER_NAMES = ['shift', 'ctrl', 'alt', 'meta'] as const;
export type ModifierName = (typeof MODIFIER_NAMES)[number];

const MODIFIER_KEYS: ReadonlyMap<string, ModifierName> = new Map<string, ModifierName>([
  ['KEY_LEFTSHIFT', 'shift'],
  ['KEY_RIGHTSHIFT', 'shift'],
  ['KEY_LEFTCTRL', 'ctrl'],
  ['KEY_RIGHTCTRL', 'ctrl'],
  ['KEY_LEFTALT', 'alt'],
  ['KEY_RIGHTALT', 'alt'],
  ['KEY_LEFTMETA', 'meta'],
  ['KEY_RIGHTMETA', 'meta'],
]);

const ALIASES: ReadonlyMap<string, ModifierName> = new Map<string, ModifierName>([
  ['shift', 'shift'],
  ['ctrl', 'ctrl'],
  ['control', 'ctrl'],
  ['alt', 'alt'],
  ['altgr', 'alt'],
  ['meta', 'meta'],
  ['super', 'meta'],
  ['os', 'meta'],
]);

/** The modifier a key holds while down, if it is a modifier key. */
export function modifierOfKey(key: string): ModifierName | undefined {
  return MODIFIER_KEYS.get(key);
}

export function modifierBit(name: ModifierName): number {
  return 1 << MODIFIER_NAMES.indexOf(name);
}

/** Bit mask of the held modifiers in a reported list (unknown names and locks ignored). */
export function modifierMask(names: readonly string[]): number {
  let mask = 0;
  for (const n of names) {
    const m = ALIASES.get(n.toLowerCase());
    if (m !== undefined) mask |= modifierBit(m);
  }
  return mask;
}

export function maskToNames(mask: number): ModifierName[] {
  return MODIFIER_NAMES.filter((m) => (mask & modifierBit(m)) !== 0);
}

/**
 * Tracks held modifier keys (several keys may hold one modifier: both Shifts).
 * `mask()` is the modifiers held right now.
 */
export class ModifierTracker {
  private readonly held = new Set<string>();
  private readonly counts = new Map<ModifierName, number>();

  apply(key: string, action: 'down' | 'up' | 'repeat'): void {
    const m = modifierOfKey(key);
    if (m === undefined || action === 'repeat') return;
    if (action === 'down' && !this.held.has(key)) {
      this.held.add(key);
      this.counts.set(m, (this.counts.get(m) ?? 0) + 1);
    } else if (action === 'up' && this.held.delete(key)) {
      this.counts.set(m, (this.counts.get(m) ?? 1) - 1);
    }
  }

  mask(): number {
    let mask = 0;
    for (const [m, n] of this.counts) if (n > 0) mask |= modifierBit(m);
    return mask;
  }
}
