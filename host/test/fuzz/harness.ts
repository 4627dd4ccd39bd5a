/**
 * The fuzz harness shared by the property tests (host/test/fuzz-*.test.ts) and the
 * fixed-budget runner (`npm run fuzz`, fuzz/run.ts → ./runner.ts). A target is one
 * boundary where hostile input enters ATP: an arbitrary of inputs and a `run` that
 * feeds one input to the real parser. `judge` states the promise checked at every
 * boundary:
 * - no crash: only an AtpError with a registered code escapes (never TypeError,
 *   RangeError, …); a decoder that returns error items instead must return AtpErrors;
 * - every rejection names where the input was wrong (the target's `locates`);
 * - the target's own invariants hold (e.g. a decoder's buffer stays under its bound);
 *   `run` throws `InvariantBroken` otherwise.
 * Time and memory per input are measured by the runner; tests bound time only.
 */
import fc from 'fast-check';
import { AtpError, ERROR_CODES } from '@atp/protocol';

/** A broken promise detected by a target itself (a bound exceeded, an accepted value of the wrong shape). */
export class InvariantBroken extends Error {
  override readonly name = 'InvariantBroken';
}

export interface FuzzSession<T> {
  /** Feeds one input; returns the typed rejections a decoder reported as items (a thrown AtpError is a rejection too). */
  run(input: T): AtpError[] | undefined | Promise<AtpError[] | undefined>;
  close?(): Promise<void> | void;
}

export interface FuzzTarget<T = unknown> {
  /** Short name: `qmp-decoder`, `scenario-v1`, … (the runner's --target and the findings file). */
  name: string;
  /** The boundary in words, for the runner's table. */
  boundary: string;
  input: fc.Arbitrary<T>;
  /** Opens whatever the target needs (a Fastify app, an HTTP server, a temp dir) once per run. */
  open(): FuzzSession<T> | Promise<FuzzSession<T>>;
  /** True when a rejection says where the input was wrong (field, line, offset). */
  locates(error: AtpError): boolean;
  /** Longest time one input may take, in ms, before it counts as a hang. */
  maxMs: number;
}

export type Verdict =
  | { kind: 'accepted' }
  | { kind: 'rejected'; codes: string[] }
  | { kind: 'crash'; reason: string; error: unknown };

const registered = new Set(Object.keys(ERROR_CODES));

/** Runs one input through an open session and classifies the outcome against the promise. */
export async function judge<T>(target: FuzzTarget<T>, session: FuzzSession<T>, input: T): Promise<Verdict> {
  let rejections: AtpError[];
  try {
    rejections = (await session.run(input)) ?? [];
  } catch (error) {
    if (!(error instanceof AtpError)) return { kind: 'crash', reason: `${errorName(error)} escaped: ${errorText(error)}`, error };
    rejections = [error];
  }
  for (const r of rejections) {
    if (!(r instanceof AtpError)) return { kind: 'crash', reason: `a rejection is not an AtpError: ${errorText(r)}`, error: r };
    if (!registered.has(r.code)) return { kind: 'crash', reason: `unregistered code ${r.code}`, error: r };
    if (!target.locates(r)) return { kind: 'crash', reason: `${r.code} does not say where: ${r.message.slice(0, 300)}`, error: r };
  }
  return rejections.length === 0 ? { kind: 'accepted' } : { kind: 'rejected', codes: rejections.map((r) => r.code) };
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

export function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  return text.slice(0, 2000);
}

/** A readable form of an input for findings files and assertion messages (bytes as hex, long strings cut). */
export function showInput(input: unknown): string {
  return JSON.stringify(
    input,
    (_k, v: unknown) => {
      if (v instanceof Uint8Array) return v.length > 4096 ? { length: v.length, hexHead: Buffer.from(v.subarray(0, 256)).toString('hex') } : { hex: Buffer.from(v).toString('hex') };
      if (typeof v === 'bigint') return `${v}n`;
      return v;
    },
    1,
  );
}

/** Details or message mention one of the location words: the common `locates` of binary and text codecs. */
export function namesPlace(error: AtpError, keys: readonly string[] = ['offset', 'field', 'line', 'column', 'path', 'issues', 'reason', 'what', 'type', 'preview']): boolean {
  return keys.some((k) => error.details[k] !== undefined);
}

/**
 * The property every fuzz test asserts: `runs` inputs, each within the target's
 * time bound, none breaking the promise. Small run counts keep `vitest run` fast.
 */
export async function assertTarget<T>(target: FuzzTarget<T>, runs: number, seed?: number): Promise<void> {
  const session = await target.open();
  try {
    await fc.assert(
      fc.asyncProperty(target.input, async (input) => {
        const started = performance.now();
        const verdict = await judge(target, session, input);
        const ms = performance.now() - started;
        if (verdict.kind === 'crash') throw new Error(`${target.name}: ${verdict.reason}`);
        if (ms > target.maxMs) throw new Error(`${target.name}: one input took ${ms.toFixed(0)} ms (bound ${target.maxMs} ms)`);
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
    );
  } finally {
    await session.close?.();
  }
}
