/**
 * The agent's problem list: what went wrong on its side that the host should
 * know (a device it could not capture, a part that stalled). Bounded: one entry
 * per key (code + the device or part it concerns), the newest MAX_HELLO_PROBLEMS
 * kept. Every new or changed entry is handed to the listeners (the session sends
 * it to the host while connected; the hello carries the list at each connect).
 * Pure: the clock is injected.
 */
import { MAX_HELLO_PROBLEMS, problemSubject, type AgentProblem, type AtpError } from '@atp/protocol';

type Listener = (problem: AgentProblem) => void;

/** What makes two reports the same problem: the code and the device or part it names. */
export function problemKey(code: string, details: Readonly<Record<string, unknown>> | undefined): string {
  return `${code}:${problemSubject(details)}`;
}

export class ProblemLog {
  private readonly entries = new Map<string, AgentProblem>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Records an error as a problem (again: the message and details are updated, `since` kept, a resolution cleared). */
  report(error: Pick<AtpError, 'code' | 'message' | 'details'>): AgentProblem {
    const details = Object.keys(error.details).length === 0 ? undefined : { ...error.details };
    const key = problemKey(error.code, details);
    const before = this.entries.get(key);
    const problem: AgentProblem = {
      code: error.code,
      message: error.message.slice(0, 1024),
      since: before !== undefined && before.resolvedAt === undefined ? before.since : this.clock(),
      ...(details === undefined ? {} : { details }),
    };
    this.entries.delete(key);
    this.entries.set(key, problem);
    while (this.entries.size > MAX_HELLO_PROBLEMS) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.notify(problem);
    return problem;
  }

  /** Marks the problem with this key resolved now; returns it (undefined: none open). */
  resolve(code: string, details: Readonly<Record<string, unknown>> | undefined, message?: string): AgentProblem | undefined {
    const key = problemKey(code, details);
    const open = this.entries.get(key);
    if (open === undefined || open.resolvedAt !== undefined) return undefined;
    const resolved: AgentProblem = { ...open, ...(message === undefined ? {} : { message: message.slice(0, 1024) }), resolvedAt: this.clock() };
    this.entries.set(key, resolved);
    this.notify(resolved);
    return resolved;
  }

  /** Oldest first, at most MAX_HELLO_PROBLEMS. */
  list(): AgentProblem[] {
    return [...this.entries.values()].map((p) => ({ ...p }));
  }

  onProblem(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(problem: AgentProblem): void {
    for (const listener of this.listeners) listener({ ...problem });
  }
}
