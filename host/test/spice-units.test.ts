/**
 * Pure parts of the SPICE client and injector, on numbers: the client-mode
 * pointer mapping (suite pixel → surface coordinate → QEMU's abs → the verify
 * engine's pixel), the ticket encryption, and the key codes the injector
 * sends for table keys.
 */
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { qemuTabletAbs, surfaceCoordinate } from '../src/display/spice/pointer-map.js';
import { encryptTicket } from '../src/display/spice/ticket.js';
import { spiceKeyCode } from '../src/inject/spice-injector.js';
import { absToPixel } from '../src/inject/pointer-scale.js';

/** Where the guest-observed position lands on the suite screen after the whole chain. */
function landed(pixel: number, screen: number, surface: number): number {
  return absToPixel(qemuTabletAbs(surfaceCoordinate(pixel, screen, surface), surface), screen);
}

describe('client-mode pointer mapping', () => {
  it('QEMU scales like qemu_input_scale_axis: trunc(x * 32767 / W), W at least 16', () => {
    expect(qemuTabletAbs(360, 640)).toBe(0x47ff); // measured: QEMU 7.2 traced 0x47ff for x=360 on 640
    expect(qemuTabletAbs(400, 480)).toBe(0x6aa9);
    expect(qemuTabletAbs(640, 640)).toBe(0x7fff);
    expect(qemuTabletAbs(8, 10)).toBe(qemuTabletAbs(8, 16));
  });

  it.each([
    [1024, 768, 1024, 768],
    [1920, 1080, 720, 400],
    [720, 400, 1920, 1080],
    [800, 600, 640, 480],
    [1366, 768, 1366, 768],
  ])('screen %ix%i on surface %ix%i: corners and centre land exactly', (sw, sh, w, h) => {
    for (const [x, y] of [[0, 0], [sw - 1, 0], [0, sh - 1], [sw - 1, sh - 1], [Math.floor(sw / 2), Math.floor(sh / 2)]] as const) {
      if (w < sw - 1 || h < sh - 1) {
        expect(Math.abs(landed(x, sw, w) - x)).toBeLessThanOrEqual(1);
        expect(Math.abs(landed(y, sh, h) - y)).toBeLessThanOrEqual(1);
      } else {
        expect([landed(x, sw, w), landed(y, sh, h)]).toEqual([x, y]);
      }
    }
  });

  it('every pixel lands within 1 px down to a surface half the screen, exactly from twice the screen, and the corners always exactly', () => {
    // Exactness needs the abs values QEMU can produce (32767/W apart, truncated) to fall inside every pixel's window
    // (32767/(S-1) wide): at W = S a few pixels come back 1 off (seen: S = W = 268, pixel 132 → 131).
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4096 }), fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (screen, extra, where) => {
        const pixel = Math.round(where * (screen - 1));
        const big = 2 * screen + (extra % 4096);
        expect(landed(pixel, screen, big)).toBe(pixel);
        const small = Math.max(Math.ceil((screen - 1) / 2), 1) + (extra % (2 * screen));
        expect(Math.abs(landed(pixel, screen, small) - pixel)).toBeLessThanOrEqual(1);
        for (const corner of [0, screen - 1]) expect(landed(corner, screen, 1 + (extra % (3 * screen)))).toBe(corner);
      }),
      { numRuns: 2000 },
    );
  });

  it('sends coordinates inside 0..W and clamps pixels outside the screen', () => {
    expect(surfaceCoordinate(-50, 1024, 800)).toBe(0);
    expect(surfaceCoordinate(5000, 1024, 800)).toBe(800);
    expect(surfaceCoordinate(0, 1, 800)).toBe(0);
  });
});

describe('ticket', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const der = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));

  it('is the password and its NUL, RSA-OAEP-SHA1 encrypted to 128 bytes (162-byte key as in the link reply)', () => {
    expect(der.byteLength).toBe(162);
    for (const password of ['secret', undefined, 'x'.repeat(59), 'pässwörd']) {
      const ticket = encryptTicket(der, password);
      expect(ticket.byteLength).toBe(128);
      const plain = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, ticket);
      expect(plain.toString('utf8')).toBe(`${password ?? ''}\0`);
    }
  });

  it('refuses a password longer than the 59 bytes a server keeps, without printing it', () => {
    const error = (() => {
      try {
        encryptTicket(der, 'p'.repeat(60));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isAtpError(error, 'ATP_SPICE_AUTH')).toBe(true);
    expect(String((error as Error).message)).not.toContain('pppp');
  });

  it('refuses a key that is not RSA SubjectPublicKeyInfo with ATP_SPICE_PROTOCOL', () => {
    expect(() => encryptTicket(new Uint8Array(162), 'x')).toThrow(expect.objectContaining({ code: 'ATP_SPICE_PROTOCOL', message: expect.stringMatching(/ticket key is not an RSA/) }));
  });
});

describe('injector key codes', () => {
  it('sends E0 keys with the prefix byte first and table keys without a usable set-1 code are ATP_INJECT_KEY_UNSUPPORTED', () => {
    expect(spiceKeyCode('KEY_RIGHTCTRL', true)).toBe(0x1de0);
    expect(spiceKeyCode('KEY_KPENTER', false)).toBe(0x9ce0);
    expect(spiceKeyCode('KEY_UP', true)).toBe(0x48e0);
    expect(spiceKeyCode('KEY_A', false)).toBe(0x9e);
    expect(() => spiceKeyCode('KEY_HANGEUL', true)).toThrow(expect.objectContaining({ code: 'ATP_INJECT_KEY_UNSUPPORTED', message: expect.stringMatching(/KEY_HANGEUL .*key release/) }));
    expect(() => spiceKeyCode('BTN_LEFT', true)).toThrow(expect.objectContaining({ code: 'ATP_INJECT_KEY_UNSUPPORTED', message: expect.stringMatching(/BTN_LEFT has no PC\/AT set-1/) }));
  });
});
