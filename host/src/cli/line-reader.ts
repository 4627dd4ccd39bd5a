/**
 * Lines from a readable stream (stdin), one at a time, pulled by the caller:
 * the next line is read only when the previous one has been handled, so a
 * pasted or piped batch of lines runs in order. Handles \n and \r\n, UTF-8
 * split across chunks, a last line without a newline, and an AbortSignal that
 * ends the reading (SIGINT while waiting for input). A run of more than
 * `maxChars` without a newline is handed over as one (too long) line so memory
 * stays bounded; the caller rejects it.
 */
import { StringDecoder } from 'node:string_decoder';

export class LineReader {
  private buffer = '';
  private ended = false;
  private readonly decoder = new StringDecoder('utf8');
  private readonly chunks: AsyncIterator<string | Buffer>;
  private readonly aborted: Promise<undefined>;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly options: { signal?: AbortSignal; maxChars?: number } = {},
  ) {
    this.chunks = input[Symbol.asyncIterator]();
    const signal = options.signal;
    this.aborted = new Promise((resolve) => {
      if (signal?.aborted === true) resolve(undefined);
      else signal?.addEventListener('abort', () => resolve(undefined), { once: true });
    });
  }

  /** The next line without its line ending; undefined at the end of the input or once the signal aborted. */
  async next(): Promise<string | undefined> {
    const max = this.options.maxChars ?? 1 << 20;
    for (;;) {
      if (this.options.signal?.aborted === true) return undefined;
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        return line.endsWith('\r') ? line.slice(0, -1) : line;
      }
      if (this.buffer.length > max || (this.ended && this.buffer !== '')) {
        const line = this.buffer;
        this.buffer = '';
        return line;
      }
      if (this.ended) return undefined;
      const chunk = await Promise.race([this.chunks.next(), this.aborted]);
      if (chunk === undefined) return undefined;
      if (chunk.done === true) {
        this.ended = true;
        this.buffer += this.decoder.end();
      } else {
        this.buffer += typeof chunk.value === 'string' ? chunk.value : this.decoder.write(chunk.value);
      }
    }
  }

  /** Stops reading the input (the stream's iterator is returned, which ends a piped stdin). */
  async close(): Promise<void> {
    this.ended = true;
    await this.chunks.return?.().catch(() => undefined);
  }
}
