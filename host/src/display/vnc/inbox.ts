/**
 * The bytes a VNC server has sent and not yet been decoded, with one awaitable
 * read at a time: the handshake awaits each message with its decoder
 * (`read(decodeServerInit)`), and a decoder's `more` waits for the next chunk.
 * When the stream ends, the pending read (and every later one) rejects with
 * the error given to `end`; a decoder's `error` rejects that read. After the
 * handshake, `drain()` hands the leftover bytes to the message decoder.
 * Hand-written: a few lines over the codec's Decoded results. No I/O itself.
 */
import type { AtpError } from '@atp/protocol';
import { concat } from './messages-codec.js';
import type { Decoded } from './wire-codec.js';

interface Waiter {
  decode: (bytes: Uint8Array) => Decoded<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: AtpError) => void;
}

export class Inbox {
  private buffer: Uint8Array = new Uint8Array(0);
  private waiter: Waiter | undefined;
  private ended: AtpError | undefined;

  push(chunk: Uint8Array): void {
    this.buffer = this.buffer.byteLength === 0 ? chunk : concat(this.buffer, chunk);
    this.settle();
  }

  /** No more bytes will come: the pending and later reads that cannot complete reject with `error`. */
  end(error: AtpError): void {
    this.ended ??= error;
    this.settle();
  }

  read<T>(decode: (bytes: Uint8Array) => Decoded<T>): Promise<T> {
    if (this.waiter !== undefined) return Promise.reject(new Error('Inbox.read: a read is already pending'));
    return new Promise<T>((resolve, reject) => {
      this.waiter = { decode, resolve: resolve as (value: unknown) => void, reject };
      this.settle();
    });
  }

  /** The bytes not consumed by reads so far; the inbox is empty afterwards. */
  drain(): Uint8Array {
    const rest = this.buffer;
    this.buffer = new Uint8Array(0);
    return rest;
  }

  private settle(): void {
    const w = this.waiter;
    if (w === undefined) return;
    const d = w.decode(this.buffer);
    if (d.kind === 'value') {
      this.buffer = this.buffer.subarray(d.size);
      this.waiter = undefined;
      w.resolve(d.value);
    } else if (d.kind === 'error') {
      this.waiter = undefined;
      w.reject(d.error);
    } else if (this.ended !== undefined) {
      this.waiter = undefined;
      w.reject(this.ended);
    }
  }
}
