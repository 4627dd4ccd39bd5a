/**
 * QmpExecutor and QgaExecutor over virsh, so the typed QMP helpers
 * (qmp/commands.ts) and QGA helpers (qga/commands, exec, files) run unchanged
 * on a libvirt domain: `qemu-monitor-command` and `qemu-agent-command` carry
 * the JSON (ASCII-only, one quoted argument), the reply JSON is validated.
 *
 * Error mapping: a QMP error reply → ATP_QMP_COMMAND (same wording as
 * QmpClient); a call timeout → ATP_QMP_TIMEOUT / ATP_QGA_TIMEOUT, as the
 * executor contracts say; an agent error reply, which libvirt reports as
 * "unable to execute QEMU agent command 'X': DESC" without the error class,
 * → qgaCommandError (the class is inferred from DESC). Anything libvirt-level
 * (domain not found or not running, agent not connected, connection lost)
 * keeps its ATP_LIBVIRT_* code.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { AtpError, isAtpError } from '@atp/protocol';
import { agentCommandFailure } from './virsh-codec.js';
import { asciiJson } from './quote.js';
import type { VirshRunner } from './virsh-runner.js';
import type { QmpExecuteOptions, QmpExecutor } from '../qmp/executor.js';
import type { QgaExecuteOptions, QgaExecutor } from '../qga/executor.js';
import { qgaCommandError } from '../qga/errors.js';

const replySchema = z.union([
  z.object({ return: z.unknown() }).refine((v) => 'return' in v, { message: 'missing "return"' }),
  z.object({ error: z.object({ class: z.string(), desc: z.string() }) }),
]);

function parseReply(stdout: string, onInvalid: (why: string) => AtpError): z.infer<typeof replySchema> {
  let value: unknown;
  try {
    value = JSON.parse(stdout) as unknown;
  } catch {
    throw onInvalid('not JSON');
  }
  const r = replySchema.safeParse(value);
  if (!r.success) throw onInvalid(r.error.issues[0]?.message ?? 'unexpected shape');
  return r.data;
}

function retag(error: unknown, from: 'ATP_LIBVIRT_TIMEOUT', to: 'ATP_QMP_TIMEOUT' | 'ATP_QGA_TIMEOUT'): unknown {
  if (!(error instanceof AtpError) || error.code !== from) return error;
  return new AtpError(to, error.message, { cause: error, details: error.details });
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export function virshQmpExecutor(runner: VirshRunner, domain: string): QmpExecutor {
  return {
    async execute<T = unknown>(command: string, args?: Record<string, unknown>, options: QmpExecuteOptions = {}): Promise<T> {
      const json = asciiJson(args === undefined ? { execute: command } : { execute: command, arguments: args });
      let stdout: string;
      try {
        // onSent goes to the runner: it fires when the line reaches virsh, after the runner's (or pool's) queue.
        stdout = await runner.run(['qemu-monitor-command', '--domain', domain, '--cmd', json], {
          domain,
          timeoutMs: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
          ...(options.onSent === undefined ? {} : { onSent: options.onSent }),
        });
      } catch (error) {
        throw retag(error, 'ATP_LIBVIRT_TIMEOUT', 'ATP_QMP_TIMEOUT');
      }
      const reply = parseReply(stdout, (why) => new AtpError('ATP_QMP_PROTOCOL', `${command} via libvirt (domain '${domain}'): unexpected reply (${why}): ${stdout.slice(0, 120)}`, { details: { command, domain } }));
      if ('error' in reply) {
        throw new AtpError('ATP_QMP_COMMAND', `${command} failed: ${reply.error.class}: ${reply.error.desc}`, {
          details: { command, errorClass: reply.error.class, desc: reply.error.desc, domain },
        });
      }
      return reply.return as T;
    },
  };
}

/** libvirt's seconds-granular agent timeout; ours adds a margin so libvirt answers first. */
const AGENT_MARGIN_MS = 2000;

export function virshQgaExecutor(runner: VirshRunner, domain: string): QgaExecutor {
  return {
    async execute<T = unknown>(command: string, args?: Readonly<Record<string, unknown>>, options: QgaExecuteOptions = {}): Promise<T> {
      const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
      const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
      const json = asciiJson(args === undefined ? { execute: command } : { execute: command, arguments: args });
      let stdout: string;
      try {
        stdout = await runner.run(['qemu-agent-command', '--domain', domain, '--timeout', seconds, '--cmd', json], { domain, timeoutMs: timeoutMs + AGENT_MARGIN_MS });
      } catch (error) {
        const failure = error instanceof AtpError && error.code === 'ATP_LIBVIRT_OPERATION_FAILED' ? agentCommandFailure(virshLines(error)) : undefined;
        if (failure) {
          const errorClass = /has not been found/.test(failure.desc) ? 'CommandNotFound' : 'GenericError';
          const mapped = qgaCommandError(command, errorClass, failure.desc);
          throw new AtpError(mapped.code, `${mapped.message} (domain '${domain}')`, { cause: error, details: { ...mapped.details, domain } });
        }
        throw retag(error, 'ATP_LIBVIRT_TIMEOUT', 'ATP_QGA_TIMEOUT');
      }
      const reply = parseReply(stdout, (why) => new AtpError('ATP_QGA_COMMAND', `guest agent reply to ${command} via libvirt (domain '${domain}') is invalid (${why})`, { details: { command, domain } }));
      if ('error' in reply) throw qgaCommandError(command, reply.error.class, reply.error.desc);
      return reply.return as T;
    },
  };
}

function virshLines(error: AtpError): string[] {
  const lines = error.details.virsh;
  return Array.isArray(lines) ? lines.filter((l): l is string => typeof l === 'string') : [];
}

/** One libvirt connection loss that a call survived (see reconnectingQmpExecutor). */
export interface LibvirtInterruption {
  command: string;
  /** The ATP_LIBVIRT_CONNECTION the call first failed with. */
  error: AtpError;
  /** From that failure until libvirt answered the probe again. */
  reconnectedAfterMs: number;
}

/** An executor that reports the connection losses it rode out. */
export interface InterruptionReporter {
  onInterruption(listener: (interruption: LibvirtInterruption) => void): () => void;
}

export function interruptionReporter(value: unknown): InterruptionReporter | undefined {
  if (typeof value !== 'object' || value === null || !('onInterruption' in value)) return undefined;
  return typeof value.onInterruption === 'function' ? (value as InterruptionReporter) : undefined;
}

export interface ReconnectOptions {
  /** A cheap libvirt call that succeeds once the connection is back (e.g. the domain lookup). */
  probe: () => Promise<unknown>;
  /** How long to keep probing before giving up with the original error (default 120 s). */
  reconnectTimeoutMs?: number;
  /** Pause between failed probes (default 250 ms; virsh's own restart backoff adds to it). */
  probeIntervalMs?: number;
}

/**
 * Wraps a virsh-backed QmpExecutor so a suite survives libvirtd restarting:
 * a call that fails ATP_LIBVIRT_CONNECTION waits until `probe` succeeds (virsh
 * restarted and reached the new daemon), then is sent again, once, and the
 * listeners hear of it. Why once and why that is acceptable: the failed call
 * may or may not have reached QEMU before the connection went (libvirt may have
 * forwarded it to the monitor and lost only the reply), so the retry can apply
 * an input event twice. It is not hidden: the guest then observes the doubled
 * input and the verify engine reports it as a duplicate, so the report stays
 * honest; not retrying would instead abort the whole suite on a daemon restart.
 * A second failure is thrown as is. The caller's options, `onSent` included, go
 * to both attempts, so the hook fires again when the resend leaves and the
 * caller's last stamp is the send the guest most likely received.
 */
export function reconnectingQmpExecutor(inner: QmpExecutor, options: ReconnectOptions): QmpExecutor & InterruptionReporter {
  const listeners = new Set<(interruption: LibvirtInterruption) => void>();
  const waitForReconnect = async (error: AtpError): Promise<number> => {
    const started = performance.now();
    const deadline = started + (options.reconnectTimeoutMs ?? 120_000);
    for (;;) {
      try {
        await options.probe();
        return performance.now() - started;
      } catch (probeError) {
        // libvirtd answered, and the domain is gone or stopped (QEMU died, the VM was destroyed): no reconnect will help.
        if (isAtpError(probeError, 'ATP_LIBVIRT_DOMAIN_NOT_FOUND') || isAtpError(probeError, 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING')) throw probeError;
        if (performance.now() > deadline) throw new AtpError('ATP_LIBVIRT_CONNECTION', `${error.message} (libvirt did not come back within ${options.reconnectTimeoutMs ?? 120_000} ms)`, { cause: probeError, details: error.details });
        await sleep(options.probeIntervalMs ?? 250);
      }
    }
  };
  return {
    async execute<T = unknown>(command: string, args?: Record<string, unknown>, executeOptions?: QmpExecuteOptions): Promise<T> {
      try {
        return await inner.execute<T>(command, args, executeOptions);
      } catch (error) {
        if (!isAtpError(error, 'ATP_LIBVIRT_CONNECTION')) throw error;
        const reconnectedAfterMs = await waitForReconnect(error);
        for (const l of listeners) l({ command, error, reconnectedAfterMs });
        return inner.execute<T>(command, args, executeOptions);
      }
    },
    onInterruption(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
