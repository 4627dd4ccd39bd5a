/**
 * A test-only Injector that reports sending what it was asked to, but sends
 * something else to the real VM: the fault a real pipeline has (a lost key, a
 * doubled one, two keys swapped, a key-up that never comes). The guest really
 * sees the faulty input; the verifier, trusting the report, must name exactly
 * the injected defects.
 *
 * Faults apply to the first press of the chosen key (its down and the up that
 * follows), so a suite can carry several faults on different keys. `swap` holds
 * back the whole send() call that presses the key and sends it after the next
 * call: use open-loop pacing with holdMs 0, where each keystroke is one call.
 */
import type { KeyId } from '@atp/protocol';
import type { InjectedAction, Injector, InputAction } from '../../host/src/inject/actions.js';
import { hostNow } from '../../host/src/util/clock.js';

export interface Faults {
  /** Never sent: the guest sees nothing (missing). */
  drop?: string[];
  /** Sent twice (duplicate). */
  double?: string[];
  /** Sent after the next keystroke (reordered). */
  swap?: string[];
  /** Down sent, up never (stuck). */
  stuck?: string[];
}

type Mode = 'drop' | 'double' | 'swap' | 'stuck';

export class FaultyInjector implements Injector {
  readonly name: string;
  readonly screen;
  private nextId = 1;
  /** Keys whose fault is in progress (down seen, up not yet), and keys done. */
  private readonly active = new Map<string, Mode>();
  private readonly used = new Set<string>();
  /** A swapped keystroke's call, sent after the next call. */
  private held: InputAction[] = [];
  private swapNow = false;
  /** Keys the inner injector was left holding (stuck), for release(). */
  readonly stuckKeys: KeyId[] = [];

  constructor(
    private readonly inner: Injector,
    private readonly faults: Faults,
  ) {
    this.name = `faulty(${inner.name})`;
    this.screen = inner.screen;
  }

  private modeOf(key: string): Mode | undefined {
    for (const mode of ['drop', 'double', 'swap', 'stuck'] as const) if (this.faults[mode]?.includes(key)) return mode;
    return undefined;
  }

  /** What really goes to the VM for one action. */
  private transform(a: InputAction, out: InputAction[]): void {
    if (a.kind !== 'key') {
      out.push(a);
      return;
    }
    let mode = this.active.get(a.key);
    if (mode === undefined && a.down && !this.used.has(a.key)) {
      mode = this.modeOf(a.key);
      if (mode !== undefined) {
        this.active.set(a.key, mode);
        this.used.add(a.key);
      }
    }
    if (mode === undefined || mode === 'swap') {
      out.push(a);
      if (mode === 'swap' && a.down) this.swapNow = true;
      if (mode === 'swap' && !a.down) this.active.delete(a.key);
      return;
    }
    if (!a.down) this.active.delete(a.key);
    switch (mode) {
      case 'drop':
        return;
      case 'double':
        // A second down while the key is down is swallowed by the kernel: down, up, down, up.
        out.push(...(a.down ? [a] : [a, { ...a, down: true }, a]));
        return;
      case 'stuck':
        if (a.down) {
          out.push(a);
          this.stuckKeys.push(a.key);
        }
        return;
    }
  }

  async send(actions: readonly InputAction[], context: { step?: number } = {}): Promise<InjectedAction[]> {
    let real: InputAction[] = [];
    this.swapNow = false;
    for (const a of actions) this.transform(a, real);
    if (this.swapNow) {
      this.held = real;
      real = [];
    } else if (this.held.length > 0) {
      real.push(...this.held.splice(0));
    }
    const sentAt = hostNow();
    if (real.length > 0) await this.inner.send(real, context);
    return actions.map((action) => ({ id: this.nextId++, action, sentAt, ...(context.step === undefined ? {} : { step: context.step }) }));
  }

  /** Releases keys a 'stuck' fault left down (outside any suite), so later suites start clean. */
  async release(): Promise<KeyId[]> {
    const keys = this.stuckKeys.splice(0);
    if (keys.length > 0) await this.inner.send(keys.map((key): InputAction => ({ kind: 'key', key, down: false })));
    return keys;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
