/**
 * Commands in flight, keyed by the id QEMU echoes back. Ids are never reused
 * for the life of a client (across reconnects too), so a reply whose id is
 * known but no longer pending is a late reply to a timed-out command.
 */
import { AtpError } from '@atp/protocol';
import type { QmpErrorReply, QmpReturn } from './messages.js';
import { timerDelay } from '../../util/timers.js';

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: AtpError) => void;
  timer: NodeJS.Timeout;
}

export type SettleOutcome = 'settled' | 'late' | 'unknown';

export class PendingCommands {
  private readonly map = new Map<number, Pending>();
  private nextId = 1;

  get size(): number {
    return this.map.size;
  }

  allocateId(): number {
    return this.nextId++;
  }

  /** Waits for the reply to `id`; rejects ATP_QMP_TIMEOUT after `timeoutMs` and forgets the id. */
  track(id: number, command: string, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.map.delete(id);
        reject(new AtpError('ATP_QMP_TIMEOUT', `${command}: no reply within ${timeoutMs} ms`, { details: { command, id, timeoutMs } }));
      }, timerDelay(timeoutMs));
      this.map.set(id, { command, resolve, reject, timer });
    });
  }

  settle(reply: QmpReturn | QmpErrorReply): SettleOutcome {
    const id = reply.id;
    const pending = typeof id === 'number' ? this.map.get(id) : undefined;
    if (!pending || typeof id !== 'number') {
      return typeof id === 'number' && Number.isInteger(id) && id > 0 && id < this.nextId ? 'late' : 'unknown';
    }
    this.map.delete(id);
    clearTimeout(pending.timer);
    if (reply.kind === 'return') pending.resolve(reply.value);
    else {
      pending.reject(
        new AtpError('ATP_QMP_COMMAND', `${pending.command} failed: ${reply.errorClass}: ${reply.desc}`, {
          details: { command: pending.command, errorClass: reply.errorClass, desc: reply.desc, id },
        }),
      );
    }
    return 'settled';
  }

  /** Rejects everything in flight with `error`'s code, naming each command. */
  rejectAll(error: AtpError): void {
    for (const [id, pending] of [...this.map]) {
      this.map.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new AtpError(error.code, `${pending.command}: ${error.message}`, { cause: error, details: { command: pending.command, id } }));
    }
  }
}
