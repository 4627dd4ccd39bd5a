/**
 * Losing the SPICE session on a real QEMU 7.2: a second client linking takes
 * the session (QEMU serves one) and the first injector's next send fails
 * ATP_SPICE_SESSION_TAKEN while the newcomer's input arrives; QEMU killed in
 * the middle of a send fails it ATP_SPICE_CLOSED promptly, with what went out
 * before the failure in details.sent; the handshake time is measured.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AtpError } from '@atp/protocol';
import { SpiceClient } from '../src/display/spice/client.js';
import type { InputAction } from '../src/inject/actions.js';
import { openSpiceInjector, type SpiceInjector } from '../src/inject/spice-injector.js';
import { startDisplayQemu, type DisplayQemu, type InputEvent } from './support/display-qemu.js';

const SCREEN = { width: 1024, height: 768 };
let qemu: DisplayQemu | undefined;
afterEach(async () => {
  await qemu?.cleanup();
  qemu = undefined;
});

const keys = (events: InputEvent[]): string[] => events.flatMap((e) => (e.kind === 'key' ? [`${e.qcode} ${e.down ? 'down' : 'up'}`] : []));

async function ended(injector: SpiceInjector, timeoutMs = 10_000): Promise<AtpError> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const end = injector.spice.client.ended;
    if (end !== undefined) return end;
    if (Date.now() > deadline) throw new Error(`the first client did not see its session end within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('SPICE session loss', () => {
  it.each([['unix socket', {}], ['TCP', { tcp: true }]] as const)('over a %s: a second client takes the session; the first injector fails ATP_SPICE_SESSION_TAKEN naming the endpoint', async (_name, listen) => {
    qemu = await startDisplayQemu({ spice: { ...listen, password: 'pw' } });
    const first = await openSpiceInjector(qemu.endpoint('spice'), SCREEN, { mouseMode: 'server' });
    expect(first.handshakeMs).toBeGreaterThan(0);
    const second = await SpiceClient.connect(qemu.endpoint('spice'));
    try {
      const end = await ended(first);
      expect(end.code).toBe('ATP_SPICE_SESSION_TAKEN');
      const failure = await first.send([{ kind: 'key', key: 'KEY_A', down: true }]).catch((e: unknown) => e);
      expect(failure).toMatchObject({ code: 'ATP_SPICE_SESSION_TAKEN', message: expect.stringMatching(/spice(\+unix)?:\/\/.*dropped this client .*another SPICE client took the session/), details: { sentCount: 0 } });
      const from = (await qemu.inputEvents()).length;
      await second.sendInput({ kind: 'keyDown', code: 0x30 });
      await second.sendInput({ kind: 'keyUp', code: 0xb0 });
      expect(keys(await qemu.waitForInput((e) => keys(e).length >= 2, "the second client's key", from))).toEqual(['b down', 'b up']);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('QEMU killed during a send: the send rejects ATP_SPICE_CLOSED promptly, listing what went out before', async () => {
    qemu = await startDisplayQemu({ spice: {} });
    const injector = await openSpiceInjector(qemu.endpoint('spice'), SCREEN, { mouseMode: 'server' });
    try {
      // Motions wait for the server's acks (at most 8 unacked), so this send is still running when QEMU dies.
      const long: InputAction[] = Array.from({ length: 20_000 }, (_, i) => ({ kind: 'moveBy', dx: i % 2 === 0 ? 1 : -1, dy: 0 }));
      const sending = injector.send(long).then(
        () => new Error('the send outlived QEMU'),
        (e: unknown) => e as AtpError & { details: { sentCount: number } },
      );
      const from = (await qemu.inputEvents()).length;
      await qemu.waitForInput((e) => e.filter((x) => x.kind === 'rel').length >= 20, 'the first motions', from);
      const killedAt = Date.now();
      await qemu.killHard();
      const error = await sending;
      if (!('code' in error)) throw error;
      const took = Date.now() - killedAt;
      expect(error).toMatchObject({ code: 'ATP_SPICE_CLOSED', message: expect.stringMatching(/answers a SPICE link any more: the SPICE server \(QEMU\) is gone/) });
      expect(error.details.sentCount).toBeGreaterThan(0);
      expect(error.details.sentCount).toBeLessThan(long.length);
      expect(took).toBeLessThan(5000);
      await expect(injector.send([{ kind: 'key', key: 'KEY_A', down: true }])).rejects.toMatchObject({ code: 'ATP_SPICE_CLOSED' });
    } finally {
      await injector.close();
    }
  });
});
