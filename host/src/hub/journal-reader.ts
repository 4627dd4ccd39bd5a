/**
 * Reads one agent's journal file (NDJSON, one HubItem per line) incrementally
 * from a byte offset: complete lines are parsed and validated, an unfinished
 * last line is held until the writer completes it. A line that does not parse
 * (a torn write from a crash, which the writer terminates with a newline on its
 * next start) is counted in `corrupt` and skipped; its index is reused by the
 * item written after the restart, so readers that insist on consecutive indexes
 * see every committed item once.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { HubItemSchema, type HubItem } from './types.js';

const CHUNK_BYTES = 256 * 1024;
const NEWLINE = 0x0a;

export function parseJournalLine(line: string): HubItem | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = HubItemSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export class JournalFileReader {
  /** Bytes consumed so far (complete lines only). */
  offset = 0;
  corrupt = 0;
  private handle: FileHandle | undefined;
  private partial: Buffer = Buffer.alloc(0);
  private readonly buffer = Buffer.allocUnsafe(CHUNK_BYTES);

  constructor(readonly path: string) {}

  /** Whether the bytes read so far end in the middle of a line. */
  get midLine(): boolean {
    return this.partial.length > 0;
  }

  /** Items in the next chunks of complete lines; [] only at the current end of the file (or when it does not exist yet). */
  async readMore(): Promise<HubItem[]> {
    const handle = await this.ensureOpen();
    if (handle === undefined) return [];
    for (;;) {
      const { bytesRead } = await handle.read(this.buffer, 0, CHUNK_BYTES, this.offset + this.partial.length);
      if (bytesRead === 0) return [];
      const items = this.consume(this.buffer.subarray(0, bytesRead));
      if (items.length > 0) return items;
    }
  }

  /** Reads to the current end of the file. */
  async readAll(): Promise<HubItem[]> {
    const all: HubItem[] = [];
    for (let items = await this.readMore(); items.length > 0; items = await this.readMore()) all.push(...items);
    return all;
  }

  private async ensureOpen(): Promise<FileHandle | undefined> {
    if (this.handle !== undefined) return this.handle;
    try {
      this.handle = await open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return this.handle;
  }

  private consume(chunk: Buffer): HubItem[] {
    const data = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    const items: HubItem[] = [];
    let start = 0;
    for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
      const line = data.toString('utf8', start, nl);
      start = nl + 1;
      if (line.trim() === '') continue;
      const item = parseJournalLine(line);
      if (item === undefined) this.corrupt++;
      else items.push(item);
    }
    this.offset += start;
    this.partial = Buffer.from(data.subarray(start));
    return items;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }
}
