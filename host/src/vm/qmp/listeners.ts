/**
 * A tiny typed listener registry (Node's EventEmitter is untyped and throws on
 * an unhandled 'error'; a QMP client must never crash its process). A listener
 * that throws is counted, not propagated.
 */
export class Listeners<M extends object> {
  private readonly map = new Map<keyof M, Set<(value: never) => void>>();
  /** Listeners that threw. */
  failures = 0;

  on<K extends keyof M>(name: K, listener: (value: M[K]) => void): () => void {
    let set = this.map.get(name);
    if (!set) {
      set = new Set();
      this.map.set(name, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  count<K extends keyof M>(name: K): number {
    return this.map.get(name)?.size ?? 0;
  }

  emit<K extends keyof M>(name: K, value: M[K]): void {
    const set = this.map.get(name);
    if (!set) return;
    for (const listener of [...set] as ((value: M[K]) => void)[]) {
      try {
        listener(value);
      } catch {
        this.failures += 1;
      }
    }
  }

  clear(): void {
    this.map.clear();
  }
}
