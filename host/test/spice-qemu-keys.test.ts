/**
 * SPICE keyboard input into a real QEMU 7.2 (guest-less, SeaBIOS): keys sent
 * as set-1 scancodes, E0-prefixed keys included, arrive in QEMU's input core
 * as the key table's qcodes, in order; the lock-key sync on connect; a wrong
 * password; client mouse mode refused while the tablet is not in use; TLS on
 * a tls-port with a generated CA (host/src/display/tls).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getKey, type KeyId } from '@atp/protocol';
import type { InputAction } from '../src/inject/actions.js';
import { openSpiceInjector } from '../src/inject/spice-injector.js';
import { startDisplayQemu, type DisplayQemu, type InputEvent } from './support/display-qemu.js';

const SCREEN = { width: 1024, height: 768 };
let qemu: DisplayQemu;

beforeAll(async () => {
  qemu = await startDisplayQemu({ spice: { password: 'lab-secret' } });
});
afterAll(async () => {
  await qemu?.cleanup();
});

const keyEvents = (events: InputEvent[]): string[] => events.flatMap((e) => (e.kind === 'key' ? [`${e.qcode} ${e.down ? 'down' : 'up'}`] : []));
const press = (key: KeyId): InputAction[] => [
  { kind: 'key', key, down: true },
  { kind: 'key', key, down: false },
];

describe('SPICE keys into QEMU', () => {
  it('plain and E0-prefixed keys arrive as the table qcodes, in order, chords included', async () => {
    const injector = await openSpiceInjector(qemu.endpoint('spice'), SCREEN, { mouseMode: 'server' });
    try {
      const from = (await qemu.inputEvents()).length;
      const keys: KeyId[] = ['KEY_A', 'KEY_RIGHTCTRL', 'KEY_UP', 'KEY_DOWN', 'KEY_LEFT', 'KEY_RIGHT', 'KEY_KPENTER', 'KEY_RIGHTALT', 'KEY_LEFTMETA', 'KEY_INSERT', 'KEY_DELETE', 'KEY_HOME', 'KEY_END', 'KEY_PAGEUP', 'KEY_KPSLASH', 'KEY_PAUSE', 'KEY_1', 'KEY_F12'];
      const chord: InputAction[] = [
        { kind: 'key', key: 'KEY_LEFTSHIFT', down: true },
        ...press('KEY_Z'),
        { kind: 'key', key: 'KEY_RIGHTCTRL', down: true },
        ...press('KEY_HOME'),
        { kind: 'key', key: 'KEY_RIGHTCTRL', down: false },
        { kind: 'key', key: 'KEY_LEFTSHIFT', down: false },
      ];
      const actions = [...keys.flatMap(press), ...chord];
      const sent = await injector.send(actions, { step: 3 });
      expect(sent.map((s) => s.id)).toEqual(actions.map((_, i) => i + 1));
      expect(sent.every((s, i) => s.step === 3 && s.sentAt > 0 && (i === 0 || s.sentAt >= (sent[i - 1]?.sentAt ?? 0)))).toBe(true);
      const expected = actions.map((a) => (a.kind === 'key' ? `${getKey(a.key)?.qcode ?? '?'} ${a.down ? 'down' : 'up'}` : ''));
      const events = await qemu.waitForInput((e) => keyEvents(e).length >= expected.length, `${expected.length} key events`, from);
      expect(keyEvents(events)).toEqual(expected);
      expect(expected.slice(2, 4)).toEqual(['ctrl_r down', 'ctrl_r up']);
    } finally {
      await injector.close();
    }
  });

  it('syncs the lock keys on connect: the server toggles exactly the locks it believes differ from what was asked', async () => {
    // spice-server's belief starts at the LEDs (all off on a fresh QEMU), becomes what a client asked for, and follows
    // the guest's LED updates. Its own QEMU, so the belief starts known; SeaBIOS resets the keyboard early in its
    // boot (LED state 0 again), which wiped what a client connecting before it had set: wait for its init first.
    const fresh = await startDisplayQemu({ spice: {} });
    try {
      await fresh.waitForFirmwareKeyboard();
      for (const [asked, toggled] of [[2, ['num_lock']], [5, ['scroll_lock', 'num_lock', 'caps_lock']], [5, []]] as const) {
        const from = (await fresh.inputEvents()).length;
        const injector = await openSpiceInjector(fresh.endpoint('spice'), SCREEN, { mouseMode: 'server', lockModifiers: asked });
        try {
          expect(injector.lockSync).toEqual({ reported: 0, asked });
          await injector.send(press('KEY_ESC'));
          const events = await fresh.waitForInput((e) => keyEvents(e).includes('esc up'), 'the lock toggles and Esc', from);
          expect(keyEvents(events)).toEqual([...toggled.flatMap((lock) => [`${lock} down`, `${lock} up`]), 'esc down', 'esc up']);
        } finally {
          await injector.close();
        }
      }
    } finally {
      await fresh.cleanup();
    }
  });

  it('a wrong password is ATP_SPICE_AUTH, without the password in the error', async () => {
    const error = await openSpiceInjector({ ...qemu.endpoint('spice'), password: 'not-the-secret' }, SCREEN, { mouseMode: 'server' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ATP_SPICE_AUTH', message: expect.stringMatching(/refused the ticket for the main channel/) });
    expect(JSON.stringify([(error as Error).message, (error as { details: unknown }).details])).not.toMatch(/not-the-secret|lab-secret/);
  });
});

describe('SPICE mouse mode on a VM whose tablet is not in use', () => {
  it('client mode is ATP_SPICE_MOUSE_MODE listing the modes QEMU offers', async () => {
    await expect(openSpiceInjector(qemu.endpoint('spice'), SCREEN, { mouseMode: 'client' })).rejects.toMatchObject({
      code: 'ATP_SPICE_MOUSE_MODE',
      message: expect.stringMatching(/does not offer client mouse mode; it offers: server \(client mode needs an absolute pointing device in use/),
    });
  });
});

describe('SPICE over TLS', () => {
  let tlsQemu: DisplayQemu;
  beforeAll(async () => {
    tlsQemu = await startDisplayQemu({ spice: { tls: true, password: 'tls-secret' } });
  });
  afterAll(async () => {
    await tlsQemu?.cleanup();
  });

  it('links every channel over TLS with the generated CA and delivers keys', async () => {
    const injector = await openSpiceInjector(tlsQemu.endpoint('spice'), SCREEN, { mouseMode: 'server' });
    try {
      const from = (await tlsQemu.inputEvents()).length;
      await injector.send([...press('KEY_KPENTER'), ...press('KEY_B')]);
      const events = await tlsQemu.waitForInput((e) => keyEvents(e).length >= 4, 'four key events over TLS', from);
      expect(keyEvents(events)).toEqual(['kp_enter down', 'kp_enter up', 'b down', 'b up']);
      const spice = (await (await tlsQemu.qmp()).execute('query-spice')) as { channels: { tls: boolean }[] };
      expect(spice.channels.length).toBeGreaterThanOrEqual(2);
      expect(spice.channels.every((c) => c.tls)).toBe(true);
    } finally {
      await injector.close();
    }
  });

  it('a server certificate from another CA is ATP_SPICE_CONNECT', async () => {
    const other = await startDisplayQemu({ spice: { tls: true } });
    try {
      const endpoint = { ...tlsQemu.endpoint('spice'), tls: { ca: other.spice?.tls?.ca ?? '' } };
      await expect(openSpiceInjector(endpoint, SCREEN, { mouseMode: 'server' })).rejects.toMatchObject({ code: 'ATP_SPICE_CONNECT', message: expect.stringMatching(/spice:\/\/127\.0\.0\.1:\d+ \(tls, password\).*certificate/) });
    } finally {
      await other.cleanup();
    }
  });
});
