/**
 * `exec:` a command on every selected running VM through the QEMU guest agent
 * over libvirt (`qemu-agent-command` guest-exec on the domain NAME[@HOST] the
 * platform's placement gives), at most target.concurrency VMs at once. The
 * argv goes to the guest as is: no shell. `powershell:` is sent as
 * `powershell.exe -NoProfile -NonInteractive -EncodedCommand <base64 of the
 * script in UTF-16LE>` (what -EncodedCommand takes), so no quoting is involved.
 * The timeout (default 60 s) covers waiting for the guest agent to answer
 * (a VM that just started) and the command itself.
 * Each VM passes when the exit code is expectExit (default 0) and stdout
 * matches expectOutput; a selected VM that does not run fails. `as:` gets
 * {stdout: the first VM's, exitCodes, vms, value: the first stdout}.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError, isAtpError, type AtpErrorCode, type ExecStep } from '@atp/protocol';
import { openDomain } from '../../targets/index.js';
import { qgaExec, qgaPing, type QgaExecResult, type QgaExecutor } from '../../vm/qga/index.js';
import { asAtpError, DEFAULT_EXEC_MS, mapLimit, type StepContext, type StepDone, type VmResult } from './context.js';
import { currentSelection, type SelectedVm } from './selection.js';
import type { RunStepHandler } from './step-types.js';

/** The code of "the command ran and gave another exit code or output" (the VMs named in the message). */
export const EXEC_CHECK_CODE: AtpErrorCode = 'ATP_RUN_EXEC_CHECK';

/** Waiting for the guest agent of a VM that just started: one guest-ping's reply timeout, and the pause between tries. */
const PING_TIMEOUT_MS = 5000;
const PING_INTERVAL_MS = 1000;

/** How much of a VM's stdout its report row quotes. */
const QUOTED_OUTPUT = 120;

/** The argv of a PowerShell script: -EncodedCommand takes base64 of UTF-16LE. */
export function powershellArgv(script: string): string[] {
  return ['powershell.exe', '-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')];
}

function argvOf(e: ExecStep['exec']): string[] {
  return e.command ?? powershellArgv(e.powershell ?? '');
}

/**
 * Until the guest agent answers guest-ping (a VM that just started may not
 * run qemu-ga yet), within the deadline; other errors, and the last one at the
 * deadline, are thrown.
 */
async function guestAgentReady(qga: QgaExecutor, deadlineAt: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    try {
      await qgaPing(qga, { timeoutMs: Math.max(1000, Math.min(PING_TIMEOUT_MS, deadlineAt - Date.now())) });
      return;
    } catch (error) {
      const notYet = isAtpError(error, 'ATP_LIBVIRT_AGENT_UNAVAILABLE') || isAtpError(error, 'ATP_QGA_TIMEOUT');
      if (!notYet || Date.now() + PING_INTERVAL_MS >= deadlineAt) throw error;
      await sleep(PING_INTERVAL_MS, undefined, { signal });
    }
  }
}

async function execOn(ctx: StepContext, vm: SelectedVm, argv: readonly string[], deadlineMs: number): Promise<QgaExecResult> {
  const [path = '', ...args] = argv;
  const deadlineAt = Date.now() + deadlineMs;
  const opened = await openDomain(vm.spec, ctx.location, { connections: ctx.connections });
  try {
    const qga = opened.client.qgaExecutor(opened.domain);
    await guestAgentReady(qga, deadlineAt, ctx.signal);
    return await qgaExec(qga, path, args, { deadlineMs: Math.max(1, deadlineAt - Date.now()) });
  } finally {
    await opened.close().catch(() => undefined);
  }
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const quote = (s: string): string => JSON.stringify(s.length > QUOTED_OUTPUT ? `${s.slice(0, QUOTED_OUTPUT)}…` : s);

interface VmRun {
  vm: SelectedVm;
  result?: QgaExecResult;
  stdout?: string;
  error?: AtpError;
}

async function run(step: ExecStep, ctx: StepContext): Promise<StepDone> {
  const e = step.exec;
  const argv = argvOf(e);
  let pattern: RegExp | undefined;
  try {
    pattern = e.expectOutput === undefined ? undefined : new RegExp(e.expectOutput);
  } catch (error) {
    throw new AtpError('ATP_SCENARIO_INVALID', `${ctx.source}: exec.expectOutput ${JSON.stringify(e.expectOutput)} is not a valid regular expression once its variables are filled in`, { cause: error, details: { source: ctx.source } });
  }
  const selection = await currentSelection(ctx);
  if (selection.running.length === 0) {
    throw new AtpError('ATP_RUN_NO_TARGETS', `exec: no selected VM of pool ${selection.pool} runs (${selection.notRunning.map((s) => `${s.name} ${s.status}`).join(', ')})`, { details: { pool: selection.pool } });
  }
  const deadlineMs = e.timeoutMs ?? DEFAULT_EXEC_MS;
  const runs = await mapLimit(selection.running, ctx.target.concurrency ?? selection.running.length, async (vm): Promise<VmRun> => {
    try {
      const result = await execOn(ctx, vm, argv, deadlineMs);
      return { vm, result, stdout: text(result.stdout) };
    } catch (error) {
      return { vm, error: asAtpError(error, `exec on ${vm.spec}`) };
    }
  });
  const rows: VmResult[] = runs.map((r) => {
    if (r.result === undefined) return { vm: r.vm.spec, ok: false, detail: r.error?.message ?? 'failed' };
    const exitOk = r.result.exitCode === e.expectExit;
    const outputOk = pattern === undefined || pattern.test(r.stdout ?? '');
    const exit = r.result.exitCode === null ? `killed by signal ${r.result.signal ?? '?'}` : `exit ${r.result.exitCode}`;
    const why = [exitOk ? undefined : `expected exit ${e.expectExit}`, outputOk ? undefined : `stdout does not match /${e.expectOutput ?? ''}/`].filter((w) => w !== undefined);
    return { vm: r.vm.spec, ok: exitOk && outputOk, detail: `${exit}, stdout ${quote(r.stdout ?? '')}${why.length === 0 ? '' : ` (${why.join('; ')})`}` };
  });
  rows.push(...selection.notRunning.map((s) => ({ vm: s.name, ok: false, detail: `not running (platform status ${s.status})` })));
  const failed = rows.filter((r) => !r.ok);
  const ran = runs.filter((r) => r.result !== undefined);
  const mismatch = runs.some((r, i) => r.result !== undefined && rows[i]?.ok === false);
  const firstError = runs.find((r) => r.error !== undefined)?.error;
  const error =
    failed.length === 0
      ? undefined
      : new AtpError(mismatch || firstError === undefined ? EXEC_CHECK_CODE : firstError.code, `exec ${describeArgv(e)}: ${failed.length} of ${rows.length} VMs failed: ${failed.map((f) => `${f.vm}: ${f.detail ?? 'failed'}`).join('; ')}`, {
          details: { vms: failed.map((f) => f.vm) },
        });
  const first = ran[0];
  return {
    vms: rows,
    verified: ran.length > 0,
    vars: { stdout: first?.stdout ?? '', exitCodes: ran.map((r) => r.result?.exitCode ?? -1), vms: ran.map((r) => r.vm.name), value: first?.stdout ?? '' },
    ...(error === undefined ? {} : { error }),
  };
}

function describeArgv(e: ExecStep['exec']): string {
  if (e.command === undefined) return 'powershell';
  const shown = e.command.map((a) => (/^[\w./:=@+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}

export const EXEC_STEP: RunStepHandler<'exec'> = {
  describe: (step) => `exec ${describeArgv(step.exec)}`,
  run,
};
