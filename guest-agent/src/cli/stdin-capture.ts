/**
 * TESTING AID, not a real capture: the `stdin-json` backend reads observed events
 * (without seq) as JSON lines from standard input, so tests and demos can feed
 * the agent without input devices. `t` defaults to Date.now() and `device` to
 * 'stdin'; lines that are not JSON objects go to the error callbacks. The
 * session validates each event before numbering it.
 */
import type { Readable } from 'node:stream';
import { AtpError, NdjsonDecoder } from '@atp/protocol';
import type { DeviceInfo } from '@atp/protocol';
import { CaptureEmitter } from '../capture/index.js';
import type { Capture, CaptureEventsOptions, CaptureHandlers, CapturedEvent } from '../capture/index.js';

export class StdinJsonCapture implements Capture {
  readonly backend = 'stdin-json';
  private readonly emitter = new CaptureEmitter();
  private readonly decoder = new NdjsonDecoder();
  private started = false;
  /** Lines read so far, and whether the input has ended. */
  readonly progress = { lines: 0, ended: false };
  private onEnd: (() => void) | undefined;

  constructor(
    private readonly input: Readable,
    private readonly onInputEnd?: (lines: number) => void,
  ) {}

  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    this.started = true;
    this.input.on('data', this.onData);
    this.onEnd = () => {
      this.progress.ended = true;
      this.onInputEnd?.(this.progress.lines);
    };
    this.input.once('end', this.onEnd);
    this.input.resume();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.started = false;
    this.input.off('data', this.onData);
    if (this.onEnd !== undefined) this.input.off('end', this.onEnd);
    this.input.pause();
    this.emitter.end();
    return Promise.resolve();
  }

  devices(): DeviceInfo[] {
    return [];
  }

  subscribe(handlers: CaptureHandlers): () => void {
    return this.emitter.subscribe(handlers);
  }

  events(options?: CaptureEventsOptions): AsyncIterableIterator<CapturedEvent> {
    return this.emitter.events(options);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (const item of this.decoder.push(bytes)) {
      if (item.kind === 'error') {
        this.emitter.fail(item.error);
        continue;
      }
      this.progress.lines++;
      const value = item.value;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        this.emitter.fail(new AtpError('ATP_SCHEMA_INVALID', `stdin-json line ${this.progress.lines}: expected a JSON object`));
        continue;
      }
      const event = { t: Date.now(), device: 'stdin', ...value } as CapturedEvent;
      this.emitter.emit(event);
    }
  };
}
