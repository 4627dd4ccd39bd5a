/**
 * The journal's write thread: takes one group commit (journal-commit.ts) at a
 * time, i.e. the text for every agent file of one flush, writes each file
 * (then, with durability 'fsync', fdatasyncs them) and answers with what failed.
 * Why a thread: at 1,000 agents × 20 events/s the hub appends to a thousand
 * files 20,000 times a second, and each append (an ext4 inode update) cost
 * 5–13 µs of the event loop, the largest single item in its profile; here it
 * costs the loop one message per flush. Opt-in (JournalStoreOptions.writer):
 * the copies and wake-ups cost more CPU in all, and on the 2-core bench machine
 * shared with the agents the thread was starved and fell behind. Messages are
 * handled in order, so each file gets its writes in commit order. A file whose
 * write failed takes no further write from this thread (a torn line must stay
 * the last one).
 *
 * The thread's code is the small CommonJS string below (eval), so it runs the
 * same from the TypeScript sources (tsx, vitest) and from the compiled build,
 * with nothing to resolve at run time; it uses node:fs only.
 */
import { Worker } from 'node:worker_threads';

/** One flush: parallel arrays, index k for one agent file. */
export interface WriteRequest {
  fds: number[];
  texts: string[];
  fsync: boolean;
}

/** Per file: null when written (and synced), else why not. */
export type WriteOutcome = ({ code: string; message: string } | null)[];

const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { writeSync, fdatasyncSync } = require('node:fs');
const broken = new Map();
const failure = (e) => ({ code: String((e && e.code) || 'EIO'), message: String((e && e.message) || e) });
function writeAll(fd, text) {
  const data = Buffer.from(text);
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}
parentPort.on('message', ({ id, fds, texts, fsync }) => {
  const out = new Array(fds.length).fill(null);
  for (let k = 0; k < fds.length; k++) {
    const fd = fds[k];
    if (broken.has(fd)) { out[k] = broken.get(fd); continue; }
    try { writeAll(fd, texts[k]); } catch (e) { out[k] = failure(e); broken.set(fd, out[k]); }
  }
  if (fsync) {
    for (let k = 0; k < fds.length; k++) {
      if (out[k] !== null) continue;
      try { fdatasyncSync(fds[k]); } catch (e) { out[k] = failure(e); broken.set(fds[k], out[k]); }
    }
  }
  parentPort.postMessage({ id, out });
});
`;

/** The thread and the flushes sent to it, answered in order. */
export class JournalWriteThread {
  private readonly worker = new Worker(SOURCE, { eval: true, stdout: false, stderr: false });
  private readonly waiting = new Map<number, (outcome: WriteOutcome | Error) => void>();
  private nextId = 0;
  private dead: Error | undefined;

  constructor() {
    this.worker.unref();
    this.worker.on('message', (m: { id: number; out: WriteOutcome }) => this.settle(m.id, m.out));
    this.worker.on('error', (error) => this.die(error));
    this.worker.on('exit', (code) => this.die(new Error(`the journal write thread exited (code ${code})`)));
  }

  /** Sends one flush; `done` gets the per-file outcome, or the Error that ended the thread. */
  write(request: WriteRequest, done: (outcome: WriteOutcome | Error) => void): void {
    if (this.dead !== undefined) return done(this.dead);
    const id = this.nextId++;
    this.waiting.set(id, done);
    // Keep the process alive while a flush is out, not longer.
    if (this.waiting.size === 1) this.worker.ref();
    this.worker.postMessage({ id, ...request });
  }

  get pending(): number {
    return this.waiting.size;
  }

  async stop(): Promise<void> {
    this.dead ??= new Error('the journal write thread was stopped');
    await this.worker.terminate();
  }

  private settle(id: number, outcome: WriteOutcome | Error): void {
    const done = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
    done?.(outcome);
  }

  private die(error: Error): void {
    this.dead ??= error;
    for (const id of [...this.waiting.keys()]) this.settle(id, this.dead);
  }
}
