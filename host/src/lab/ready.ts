/**
 * Waits until the lab guest is usable: qemu-ga answers guest-ping over its
 * virtio-serial socket, and (with an agent) the agent's first NDJSON line on
 * org.atp.agent.0 is a valid hello carrying our token. Both poll, bounded by
 * a deadline, and give up early when QEMU dies. The hub takes over the agent
 * socket later; here we only read the hello and disconnect.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentMessageDecoder, parseProcInputDevices, type AtpError, type HelloBody } from '@atp/protocol';
import { QgaClient } from '../vm/qga/index.js';
import { findLabInputDevices, type InputDeviceInfo } from './evdev-codec.js';

export interface ReadyProbe {
  deadline: number;
  /** False once QEMU has exited. */
  alive: () => boolean;
  /** Builds the error to throw (with the console tail) when waiting fails. */
  fail: (what: string) => Promise<AtpError>;
}

/** Resolves once guest-ping succeeds. */
export async function waitForQga(socketPath: string, probe: ReadyProbe): Promise<void> {
  for (;;) {
    if (!probe.alive()) throw await probe.fail('QEMU exited before qemu-ga answered');
    let client: QgaClient | undefined;
    try {
      client = await QgaClient.connect({ path: socketPath }, { connectTimeoutMs: 2000, syncTimeoutMs: 2000, timeoutMs: 5000 });
      await client.ping();
      return;
    } catch {
      // guest not up yet: qemu-ga is not reading the port, the sync times out
    } finally {
      client?.close();
    }
    if (Date.now() > probe.deadline) throw await probe.fail('qemu-ga did not answer guest-ping in time');
    await sleep(500);
  }
}

/** Polls /proc/bus/input/devices through qemu-ga until the PS/2 keyboard, PS/2 mouse and USB tablet are bound to evdev. */
export async function waitForInputDevices(socketPath: string, probe: ReadyProbe): Promise<InputDeviceInfo[]> {
  const qga = await QgaClient.connect({ path: socketPath }, { connectTimeoutMs: 5000, timeoutMs: 10_000 });
  try {
    for (;;) {
      const r = await qga.exec('/bin/cat', ['/proc/bus/input/devices'], { deadlineMs: 20_000 });
      const devices = parseProcInputDevices(Buffer.from(r.stdout).toString('utf8'));
      if (findLabInputDevices(devices)) return devices;
      if (!probe.alive()) throw await probe.fail('QEMU exited while the input devices were probed');
      if (Date.now() > probe.deadline) throw await probe.fail(`input devices incomplete: ${devices.map((d) => d.name).join(', ')}`);
      await sleep(300);
    }
  } finally {
    qga.close();
  }
}

/** Reads the first message on the agent socket; resolves with the hello body if it is a valid hello with `token`. */
export async function waitForAgentHello(socketPath: string, token: string, probe: ReadyProbe): Promise<HelloBody> {
  for (;;) {
    if (!probe.alive()) throw await probe.fail('QEMU exited before the agent said hello');
    const left = probe.deadline - Date.now();
    if (left <= 0) throw await probe.fail('the agent sent no hello in time');
    const outcome = await readFirstMessage(socketPath, Math.min(left, 5000));
    if (outcome.kind === 'hello') {
      if (outcome.body.token !== token) throw await probe.fail(`the agent's hello carried another token (agent ${outcome.body.agentId})`);
      return outcome.body;
    }
    if (outcome.kind === 'invalid') throw await probe.fail(`the agent's first message is not a valid hello: ${outcome.reason}`);
    await sleep(300);
  }
}

type FirstMessage = { kind: 'hello'; body: HelloBody } | { kind: 'invalid'; reason: string } | { kind: 'none' };

function readFirstMessage(socketPath: string, timeoutMs: number): Promise<FirstMessage> {
  return new Promise((resolve) => {
    const decoder = new AgentMessageDecoder({ source: 'lab agent' });
    const socket = net.createConnection({ path: socketPath });
    const timer = setTimeout(() => done({ kind: 'none' }), timeoutMs);
    function done(result: FirstMessage): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    }
    socket.on('error', () => done({ kind: 'none' }));
    socket.on('close', () => done({ kind: 'none' }));
    socket.on('data', (chunk: Buffer) => {
      const first = decoder.push(chunk)[0];
      if (first === undefined) return;
      if (first.kind === 'error') return done({ kind: 'invalid', reason: first.error.message });
      if (first.message.type !== 'hello') return done({ kind: 'invalid', reason: `got ${first.message.type}` });
      done({ kind: 'hello', body: first.message.body });
    });
  });
}
