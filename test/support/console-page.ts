/**
 * Driving the web console in Chromium the way a keyboard user does, for the
 * console tests: Tab until an element has focus (recording the focus order),
 * check that the focus is visible, wait for page state with a deadline that
 * names what was awaited (and shows the page text on failure), screenshots
 * into test-artifacts/console/, and a watch on what the page logs and
 * requests (CSP refusals, script errors, requests to other origins).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';

export const ARTIFACTS = path.resolve('test-artifacts', 'console');

export async function shot(page: Page, name: string, options: { fullPage?: boolean; path?: string } = {}): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = options.path ?? path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
  return file;
}

/** A short description of the focused element: tag#id, its text or label. */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (el === null || el === document.body) return 'body';
    const id = el.id === '' ? '' : `#${el.id}`;
    const text = (el.getAttribute('aria-label') ?? (el as HTMLElement).innerText ?? '').trim().split('\n')[0]?.slice(0, 40) ?? '';
    return `${el.tagName.toLowerCase()}${id}${text === '' ? '' : ` "${text}"`}`;
  });
}

/** Presses Tab until the focused element matches `selector`; returns the elements focused on the way (the last one included). */
export async function tabTo(page: Page, selector: string, maxTabs = 60): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    seen.push(await focused(page));
    if (await page.evaluate((s) => document.activeElement?.matches(s) === true, selector)) return seen;
  }
  throw new Error(`Tab never reached ${selector} in ${maxTabs} presses; focus went: ${seen.join(' → ')}`);
}

/** The focused element's outline: keyboard focus must be visible. */
export function focusOutline(page: Page): Promise<{ style: string; width: number }> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (el === null) return { style: 'none', width: 0 };
    const css = getComputedStyle(el);
    return { style: css.outlineStyle, width: Number.parseFloat(css.outlineWidth) };
  });
}

/** Waits until `check` (run in the page) is true; on timeout, fails naming `what` with the page's visible text. */
export async function waitInPage(page: Page, what: string, check: (arg: string | null) => boolean, arg: string | null, timeoutMs: number): Promise<void> {
  try {
    await page.waitForFunction(check, arg, { timeout: timeoutMs, polling: 250 });
  } catch (error) {
    const text = await page.evaluate(() => document.body.innerText).catch(() => '(page gone)');
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the page shows:\n${text.slice(0, 3000)}`, { cause: error });
  }
}

export interface PageWatch {
  /** CSP refusals, uncaught errors, console errors other than failed resource loads (a 401 before sign-in is one). */
  problems: string[];
  /** Requests to anywhere but `origin` (data: URLs aside). */
  foreign: string[];
}

export function watchPage(page: Page, origin: string): PageWatch {
  const watch: PageWatch = { problems: [], foreign: [] };
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && !/^Failed to load resource/.test(text)) watch.problems.push(`console: ${text}`);
    if (/Content Security Policy|Refused to/i.test(text)) watch.problems.push(`csp: ${text}`);
  });
  page.on('pageerror', (error) => watch.problems.push(`pageerror: ${error.message}`));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith(origin.replace(/^http/, 'ws'))) watch.foreign.push(url);
  });
  return watch;
}
