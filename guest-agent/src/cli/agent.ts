/**
 * `atp-agent run`: wires a capture backend to an AgentSession over the
 * configured link, and stops gracefully on SIGTERM / SIGINT (capture first,
 * then flush and wait for the last acks within shutdownTimeoutMs, then exit 0).
 * Capture errors and watchdog stalls go to the problem log: logged, sent to the
 * host while a session is up, and listed in every hello. The VM's SMBIOS UUID
 * (vm-identity.ts) is read once before the first hello and sent in every one.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { AtpError, type DeviceInfo } from '@atp/protocol';
import { LinuxEvdevCapture, WindowsHooksCapture } from '../capture/index.js';
import type { Capture } from '../capture/index.js';
import type { AgentConfig } from '../config.js';
import { runExec } from '../exec/index.js';
import { ProblemLog } from '../health/problems.js';
import { Watchdog } from '../health/watchdog.js';
import { AgentSession, TcpLink, VirtioLink, WsLink, parseHostPort, warmUpEventPath } from '../link/index.js';
import type { AgentIdentity, Link, SessionLogger } from '../link/index.js';
import { AGENT_VERSION } from '../version.js';
import { StdinJsonCapture } from './stdin-capture.js';
import { readVmUuid } from './vm-identity.js';

export function createLink(config: AgentConfig): Link {
  switch (config.link) {
    case 'tcp':
      return new TcpLink(parseHostPort(config.endpoint));
    case 'ws':
      return new WsLink({ url: config.endpoint });
    case 'virtio':
      return new VirtioLink({
        endpoint: config.endpoint,
        ...(config.virtioDevRoot === undefined ? {} : { devRoot: config.virtioDevRoot }),
        ...(config.virtioSysRoot === undefined ? {} : { sysRoot: config.virtioSysRoot }),
      });
  }
}

export function createCapture(config: AgentConfig, stdin: Readable, log: SessionLogger): Capture {
  if (config.capture === 'stdin-json') return new StdinJsonCapture(stdin, (lines) => log.info('capture input ended', { lines }));
  // The default (linux-evdev) means "this platform's backend": on Windows that is the hooks.
  if (config.capture === 'windows-hooks' || process.platform === 'win32') return new WindowsHooksCapture();
  return new LinuxEvdevCapture({
    maxDevices: config.maxDevices,
    ...(config.evdevDir === undefined ? {} : { devDir: config.evdevDir }),
    ...(config.evdevDevicesFile === undefined ? {} : { procDevicesPath: config.evdevDevicesFile }),
  });
}

export interface RunAgentDeps {
  logger: SessionLogger;
  stdin?: Readable;
  /** Resolves when the agent should stop (default: the first SIGTERM or SIGINT). */
  stopSignal?: Promise<string>;
}

export function firstSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export async function runAgent(config: AgentConfig, deps: RunAgentDeps): Promise<number> {
  const log = deps.logger;
  const stopSignal = deps.stopSignal ?? firstSignal();
  const capture = createCapture(config, deps.stdin ?? process.stdin, log);
  const link = createLink(config);
  const bootId = randomUUID();
  const wanted = new Set(config.devices);
  const problems = new ProblemLog();
  const watchdog = new Watchdog({ problems, log, boundMs: config.watchdogMs });
  // Read while capture starts (reg.exe takes a moment on Windows); the first hello waits for it.
  const vmUuidRead = readVmUuid();
  let vmUuid: string | undefined = undefined;
  const identity = (): AgentIdentity => ({
    agentId: config.agentId,
    bootId,
    os: { platform: process.platform, release: os.release(), arch: process.arch, hostname: os.hostname() },
    captureBackends: [capture.backend],
    capabilities: ['events', 'ping', 'capture-control', ...(config.allowExec ? ['exec'] : []), ...(capture.capabilities?.() ?? [])],
    version: AGENT_VERSION,
    token: config.token,
    devices: capture.devices().filter((d: DeviceInfo) => wanted.size === 0 || wanted.has(d.id)).slice(0, 256),
    problems: problems.list(),
    ...(vmUuid === undefined ? {} : { vmUuid }),
  });
  const session = new AgentSession({
    link,
    identity,
    bootId,
    resendCapacity: config.resendCapacity,
    batchWindowMs: config.batchWindowMs,
    logger: log,
    handlers: {
      captureStart: () => capture.start(),
      captureStop: () => capture.stop(),
      ...(config.allowExec ? { exec: (body) => runExec(body) } : {}),
    },
  });
  let rejected = 0;
  capture.subscribe({
    event: (event) => {
      if (wanted.size > 0 && event.kind !== 'device' && !wanted.has(event.device)) return;
      try {
        session.push(event);
      } catch (error) {
        if (rejected++ < 10) log.warn('event rejected', { error: error instanceof Error ? error.message : String(error) });
      }
    },
    error: (error: AtpError) => {
      log.warn('capture error', { code: error.code, error: error.message });
      problems.report(error);
    },
  });
  problems.onProblem((problem) => session.reportProblem(problem));
  const linkWait = (): string => `a welcome from the host over ${link.description}`;
  watchdog.waiting('link', linkWait());
  session.on('state', (state) => (state === 'ready' ? watchdog.fine('link') : watchdog.waiting('link', linkWait())));
  session.on('failure', (error) => watchdog.waiting('link', `${linkWait()} (last failure: ${error.code}: ${error.message})`));
  watchdog.start();
  log.info('atp-agent starting', { version: AGENT_VERSION, agentId: config.agentId, bootId, link: link.description, capture: capture.backend });
  // Before any device is open: the first event must not pay for compiling the event path (warm-up.ts).
  log.debug('event path warmed up', { ms: Math.round(warmUpEventPath()) });
  watchdog.waiting('capture', `${capture.backend} capture to start`);
  try {
    await capture.start();
  } catch (error) {
    log.error('capture did not start; waiting for capture-start from the host', { error: error instanceof Error ? error.message : String(error) });
    if (error instanceof AtpError) problems.report(error);
  }
  watchdog.fine('capture');
  const vm = await vmUuidRead;
  vmUuid = vm.vmUuid;
  if (vmUuid === undefined) log.info('no VM identity: the hello carries no vmUuid', { source: vm.source, reason: vm.reason });
  else log.info('VM identity', { vmUuid, source: vm.source });
  session.start();
  const signal = await stopSignal;
  log.info('stopping', { signal, unacked: session.sender.unacked });
  watchdog.stop();
  await capture.stop().catch(() => undefined);
  const { unacked } = await session.stop(config.shutdownTimeoutMs);
  if (unacked > 0) log.warn('stopped with events the host never acknowledged', { unacked, lastSeq: session.sender.lastSeq });
  else log.info('stopped; every event acknowledged', { lastSeq: session.sender.lastSeq });
  return 0;
}
