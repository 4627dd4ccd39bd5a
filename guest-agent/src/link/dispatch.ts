/**
 * What the agent does with the host messages the session engine delivers to the
 * app (protocol-schemas/src/session/engine.ts answers pings and takes acks
 * itself): capture and exec requests go to injected handlers (the link layer
 * never imports capture or exec), host errors and pongs are logged.
 */
import { PROTOCOL_VERSION } from '@atp/protocol';
import type { AgentMessage, CaptureStartBody, CaptureStopBody, ExecRequestBody, ExecResultBody } from '@atp/protocol';
import type { SessionLogger } from './types.js';

export interface SessionHandlers {
  captureStart?(body: CaptureStartBody): Promise<void> | void;
  captureStop?(body: CaptureStopBody): Promise<void> | void;
  /** Runs an exec request; absent means exec is disabled (the host gets ATP_EXEC_DISABLED). */
  exec?(body: ExecRequestBody): Promise<ExecResultBody>;
}

export interface DispatchContext {
  clock: () => number;
  handlers: SessionHandlers;
  log: SessionLogger;
  send(message: AgentMessage): void;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function dispatchHostMessage(msg: AgentMessage, ctx: DispatchContext): void {
  switch (msg.type) {
    case 'pong':
      ctx.log.debug('pong', { id: msg.body.id, rttMs: ctx.clock() - msg.body.t1 });
      return;
    case 'capture-start':
    case 'capture-stop':
      runCapture(msg, ctx);
      return;
    case 'exec-request':
      void runExec(msg.body, ctx);
      return;
    case 'error':
      (msg.body.fatal === true ? ctx.log.error : ctx.log.warn)('the host reported an error', {
        code: msg.body.code,
        error: msg.body.message,
        fatal: msg.body.fatal ?? false,
      });
      return;
    default:
      ctx.log.warn('unexpected message from the host ignored', { type: msg.type });
  }
}

function runCapture(msg: Extract<AgentMessage, { type: 'capture-start' | 'capture-stop' }>, ctx: DispatchContext): void {
  const { captureStart, captureStop } = ctx.handlers;
  let run: (() => Promise<void> | void) | undefined;
  if (msg.type === 'capture-start') run = captureStart && (() => captureStart.call(ctx.handlers, msg.body));
  else run = captureStop && (() => captureStop.call(ctx.handlers, msg.body));
  if (run === undefined) {
    ctx.log.warn(`${msg.type} ignored: no handler`, {});
    return;
  }
  Promise.resolve()
    .then(run)
    .catch((error: unknown) => {
      const code = error instanceof Error && 'code' in error && typeof error.code === 'string' && /^ATP_[A-Z0-9_]+$/.test(error.code) ? error.code : 'ATP_AGENT_REFUSED';
      ctx.log.warn(`${msg.type} failed`, { code, error: message(error) });
      ctx.send({ v: PROTOCOL_VERSION, type: 'error', body: { code, message: `${msg.type} failed: ${message(error)}` } });
    });
}

async function runExec(body: ExecRequestBody, ctx: DispatchContext): Promise<void> {
  const started = Date.now();
  let result: ExecResultBody;
  const failed = (code: string, why: string): ExecResultBody => ({
    id: body.id,
    exitCode: null,
    signal: null,
    stdoutB64: '',
    stderrB64: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: Date.now() - started,
    error: { code, message: why },
  });
  if (ctx.handlers.exec === undefined) result = failed('ATP_EXEC_DISABLED', 'this agent refuses exec requests (start it with --allow-exec)');
  else {
    try {
      result = await ctx.handlers.exec(body);
    } catch (error) {
      result = failed('ATP_EXEC_SPAWN', message(error));
    }
  }
  ctx.log.info('exec finished', { id: body.id, exitCode: result.exitCode, signal: result.signal, error: result.error?.code });
  ctx.send({ v: PROTOCOL_VERSION, type: 'exec-result', body: result });
}
