/**
 * The web verifier page in real headless Chromium, served by startServer, with a
 * real AgentHub: what a tester does (keys with Shift, a Ctrl combo, an IME
 * composition, pointer moves, clicks, chorded buttons, the wheel) reaches the
 * hub as exactly those events, in order, with the right key ids, text and
 * screen coordinates; the PASS banner shows in a 1024×768 screenshot.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { hubEvents, startRig, summarize, TOKEN, waitForLinkState, type Rig } from './support/web-verifier.js';

const ARTIFACTS = path.resolve('.vitest-artifacts', 'web-verifier');
let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

async function typeWithShift(code: string): Promise<void> {
  await rig.page.keyboard.down('Shift');
  await rig.page.keyboard.press(code);
  await rig.page.keyboard.up('Shift');
}

describe('web verifier page in Chromium', () => {
  it('delivers keys, text, composition, pointer and wheel to the hub exactly, in order', async () => {
    const { page, collector } = rig;
    await rig.open('vm-capture');
    await waitForLinkState(page, 'ready');

    await typeWithShift('KeyH');
    await page.keyboard.press('KeyI');
    await typeWithShift('Digit1');
    await page.keyboard.press('Control+KeyA');
    await page.keyboard.press('ArrowRight');
    const cdp = await rig.browser.context.newCDPSession(page);
    await cdp.send('Input.imeSetComposition', { text: 'ni', selectionStart: 2, selectionEnd: 2 });
    await cdp.send('Input.imeSetComposition', { text: '你', selectionStart: 1, selectionEnd: 1 });
    await cdp.send('Input.insertText', { text: '你好' });

    const box = await page.locator('#capture').boundingBox();
    if (box === null) throw new Error('the capture area is not visible');
    const cx = Math.round(box.x + box.width / 2);
    const cy = Math.round(box.y + box.height / 2);
    // Where this headless window puts the viewport on its simulated screen.
    const offset = page.evaluate(
      () => new Promise<[number, number]>((resolve) => addEventListener('pointermove', (e) => resolve([e.screenX - e.clientX, e.screenY - e.clientY]), { once: true })),
    );
    await page.mouse.move(cx, cy);
    const [ox, oy] = await offset;
    const [sx, sy] = [cx + ox, cy + oy];
    await page.mouse.down({ button: 'left' });
    await page.mouse.up({ button: 'left' });
    await page.mouse.down({ button: 'left' });
    await page.mouse.down({ button: 'right' });
    await page.mouse.up({ button: 'right' });
    await page.mouse.up({ button: 'left' });
    await page.mouse.wheel(0, 100);
    await page.mouse.wheel(0, -300);

    const expected = [
      'key down KEY_LEFTSHIFT Shift [shift]',
      'key down KEY_H H [shift]',
      'text "H" insertText',
      'key up KEY_H H [shift]',
      'key up KEY_LEFTSHIFT Shift []',
      'key down KEY_I i []',
      'text "i" insertText',
      'key up KEY_I i []',
      'key down KEY_LEFTSHIFT Shift [shift]',
      'key down KEY_1 ! [shift]',
      'text "!" insertText',
      'key up KEY_1 ! [shift]',
      'key up KEY_LEFTSHIFT Shift []',
      'key down KEY_LEFTCTRL Control [ctrl]',
      'key down KEY_A a [ctrl]',
      'key up KEY_A a [ctrl]',
      'key up KEY_LEFTCTRL Control []',
      'key down KEY_RIGHT ArrowRight []',
      'key up KEY_RIGHT ArrowRight []',
      'composition start ""',
      'composition update "ni"',
      'text "ni" insertCompositionText composing',
      'composition update "你"',
      'text "你" insertCompositionText composing',
      'composition update "你好"',
      'text "你好" insertCompositionText composing',
      'composition end "你好"',
      `abs ${sx},${sy}`,
      `button left down ${sx},${sy}`,
      `button left up ${sx},${sy}`,
      `button left down ${sx},${sy}`,
      `button right down ${sx},${sy}`,
      `button right up ${sx},${sy}`,
      `button left up ${sx},${sy}`,
      'wheel 1 0 hires 120',
      'wheel -3 0 hires -360',
    ];
    const nonFocus = (): string[] => hubEvents(collector.items, 'vm-capture').filter((e) => e.kind !== 'focus').map(summarize);
    await collector.until(() => nonFocus().length >= expected.length, `${expected.length} events from the page`);
    // Nothing more trickles in after the last expected event.
    await page.waitForFunction(() => window.atpVerifier?.status().state === 'ready' && (window.atpVerifier.status() as { delivery: { unacked: number } }).delivery.unacked === 0);
    expect(nonFocus()).toEqual(expected);

    const events = hubEvents(collector.items, 'vm-capture');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // The page reports where it starts: visible and focused.
    expect(events.slice(0, 2).map(summarize)).toEqual(['focus visible', 'focus focus']);
    const key = events.find((e) => e.kind === 'key' && e.key === 'KEY_1');
    expect(key).toMatchObject({ native: { domCode: 'Digit1', domKey: '!', location: 0 }, device: '' });
    const abs = events.find((e) => e.kind === 'abs');
    expect(abs).toMatchObject({ range: { xMin: 0, xMax: 1023, yMin: 0, yMax: 767 } });
    // Event times are the page clock (epoch ms), increasing.
    const times = events.map((e) => e.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.abs((times.at(-1) ?? 0) - Date.now())).toBeLessThan(60_000);
    expect(await page.inputValue('#capture')).toBe('Hi!你好');
    expect(rig.hub.metrics().badFramesTotal).toBe(0);
  });

  it('shows the PASS banner set through the URL hash, in a 1024×768 screenshot', async () => {
    const { page } = rig;
    await page.evaluate(() => {
      window.location.hash = '#step=Type%20Hi!&verdict=pass&detail=36%20of%2036%20events';
    });
    const banner = page.locator('#verdict');
    await banner.waitFor({ state: 'visible' });
    expect(await page.locator('#verdict .verdict-label').textContent()).toBe('PASS');
    const style = await banner.evaluate((el) => {
      const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return { display: s.display, visibility: s.visibility, width: r.width, height: r.height, top: r.top };
    });
    expect(style.display).not.toBe('none');
    expect(style.visibility).toBe('visible');
    expect(style.width).toBeGreaterThan(900);
    expect(style.height).toBeGreaterThan(60);
    expect(style.top).toBeLessThan(768);
    expect(await page.locator('#step').textContent()).toBe('Type Hi!');

    await mkdir(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, 'verifier-pass.png');
    await page.screenshot({ path: file });
    const png = await readFile(file);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1024, 768]);
    // A blank page compresses to a few KiB; this one has text and colour.
    expect(png.length).toBeGreaterThan(20_000);

    // The host can also drive it through the page's API: FAIL replaces PASS.
    await page.evaluate(() => window.atpVerifier?.setVerdict('fail', 'KEY_Z missing'));
    expect(await page.locator('#verdict .verdict-label').textContent()).toBe('FAIL');
    expect(await banner.getAttribute('data-verdict')).toBe('fail');
  });

  it('works opened as a plain file with ?hub= and says what is missing without it', async () => {
    const { page, collector, server } = rig;
    const file = pathToFileURL(path.join(rig.pageDir, 'index.html')).href;
    await page.goto(`${file}?${new URLSearchParams({ hub: server.wsUrl, token: TOKEN, agent: 'vm-file' }).toString()}`);
    await waitForLinkState(page, 'ready');
    await page.keyboard.press('KeyQ');
    await collector.until((items) => hubEvents(items, 'vm-file').some((e) => e.kind === 'key' && e.action === 'up'), 'the key typed into the file page');
    expect(hubEvents(collector.items, 'vm-file').filter((e) => e.kind !== 'focus').map(summarize)).toEqual(['key down KEY_Q q []', 'text "q" insertText', 'key up KEY_Q q []']);

    // Everything acknowledged: leaving the page asks nothing (it warns only while events are unacknowledged).
    await page.waitForFunction(() => {
      const s = window.atpVerifier?.status();
      return s !== undefined && 'delivery' in s && s.delivery.unacked === 0;
    });
    await page.goto(file);
    await expect.poll(() => page.locator('#link-state').textContent()).toBe('Not configured');
    expect(await page.locator('#link-detail').textContent()).toContain('no hub URL');
    expect(await page.evaluate(() => window.atpVerifier?.status().state)).toBe('unconfigured');
  });

  it('keeps Tab in the capture area and lets the tester leave with Escape then Tab', async () => {
    const { page } = rig;
    await page.locator('#capture').focus();
    const focused = (): Promise<string | undefined> => page.evaluate(() => document.activeElement?.id);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('capture');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('capture');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('clear');
    // The keys were still recorded, and a click on the page body brings the focus back.
    const kinds = await page.evaluate(() => (window.atpVerifier?.events() ?? []).map((e) => (e.kind === 'key' ? `${e.action} ${e.key}` : e.kind)));
    expect(kinds.filter((k) => k === 'down KEY_TAB')).toHaveLength(3);
    await page.mouse.click(500, 30);
    expect(await focused()).toBe('capture');
  });
});
