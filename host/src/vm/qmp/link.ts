/**
 * One QMP connection attempt: opens the byte stream (unix socket, TCP, or any
 * Duplex from a factory), decodes what arrives and hands it to its owner, and
 * waits for the greeting. Negotiation and command routing live in QmpClient;
 * a link never outlives its stream.
 */
import type { Duplex } from 'node:stream';
import { AtpError } from '@atp/protocol';
import { describeTarget, type StreamTarget } from '../connect.js';
import { QmpDecoder, type QmpDecoded } from './codec.js';
import { timerDelay } from '../../util/timers.js';
import type { QmpGreeting } from './messages.js';

/** Where QMP lives: a unix socket, TCP, or a factory for any Duplex (libvirt passthrough, SSH forwards). */
export type QmpTarget = StreamTarget;

export const describeQmpTarget = describeTarget;

export interface LinkHandlers {
  onDecoded(link: QmpLink, item: QmpDecoded): void;
  onDown(link: QmpLink, error: AtpError): void;
}

export class QmpLink {
  phase: 'greeting' | 'negotiating' | 'ready' = 'greeting';
  down = false;
  private readonly decoder: QmpDecoder;
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: AtpError) => void } | undefined;

  constructor(
    readonly stream: Duplex,
    private readonly handlers: LinkHandlers,
    maxLineBytes: number | undefined,
  ) {
    this.decoder = new QmpDecoder(maxLineBytes === undefined ? {} : { maxLineBytes });
    stream.on('data', (chunk: unknown) => this.onData(chunk));
    stream.on('error', (cause: Error) => this.goDown(new AtpError('ATP_QMP_DISCONNECTED', `QMP stream error: ${cause.message}`, { cause })));
    stream.on('end', () => this.goDown(new AtpError('ATP_QMP_DISCONNECTED', 'QEMU closed the QMP connection')));
    stream.on('close', () => this.goDown(new AtpError('ATP_QMP_DISCONNECTED', 'the QMP connection closed')));
  }

  /** Resolves with the greeting, or rejects ATP_QMP_GREETING (wrong first message, closed, or timed out). */
  waitForGreeting(timeoutMs: number): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new AtpError('ATP_QMP_GREETING', `no QMP greeting within ${timeoutMs} ms`, { details: { timeoutMs } })), timerDelay(timeoutMs));
      const fail = (error: AtpError): void => {
        clearTimeout(timer);
        this.greetingWaiter = undefined;
        this.destroy();
        reject(error);
      };
      this.greetingWaiter = {
        resolve: (g) => {
          clearTimeout(timer);
          this.greetingWaiter = undefined;
          resolve(g);
        },
        reject: fail,
      };
    });
  }

  write(bytes: Uint8Array): void {
    if (!this.down) this.stream.write(bytes);
  }

  destroy(): void {
    this.stream.destroy();
  }

  private onData(chunk: unknown): void {
    if (this.down) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (!(bytes instanceof Uint8Array)) {
      this.handlers.onDecoded(this, { kind: 'error', error: new AtpError('ATP_QMP_PROTOCOL', 'the QMP stream delivered a non-byte chunk') });
      return;
    }
    for (const item of this.decoder.push(bytes)) {
      if (this.phase === 'greeting') this.onGreetingPhase(item);
      else this.handlers.onDecoded(this, item);
    }
  }

  private onGreetingPhase(item: QmpDecoded): void {
    const waiter = this.greetingWaiter;
    if (!waiter) return;
    if (item.kind === 'message' && item.message.kind === 'greeting') {
      this.phase = 'negotiating';
      waiter.resolve(item.message);
      return;
    }
    const what = item.kind === 'error' ? item.error.message : `a ${item.message.kind} message`;
    waiter.reject(
      new AtpError('ATP_QMP_GREETING', `the peer did not greet with QMP: ${what}`, {
        ...(item.kind === 'error' ? { cause: item.error } : {}),
        details: { received: item.kind === 'error' ? item.error.code : item.message.kind },
      }),
    );
  }

  private goDown(error: AtpError): void {
    if (this.down) return;
    this.down = true;
    this.stream.destroy();
    this.greetingWaiter?.reject(new AtpError('ATP_QMP_GREETING', `no QMP greeting: ${error.message}`, { cause: error }));
    this.handlers.onDown(this, error);
  }
}
