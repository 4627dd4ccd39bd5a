/**
 * `atp-host serve` as a user runs it (the CLI in its own process, via tsx):
 * it prints a verifier URL with a generated token, the page at that URL in
 * real headless Chromium connects to its hub, the CLI reports the page, and
 * SIGTERM stops it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVerifierPage } from '../web-verifier/scripts/build.js';
import { launchChromium, type Chromium } from './support/chromium.js';
import { waitForLinkState } from './support/web-verifier.js';

const MAIN = path.resolve('host/src/cli/main.ts');
let pageDir: string;
let browser: Chromium | undefined;
let child: ChildProcess | undefined;
let output = '';

/** Resolves when the CLI's stdout matches `pattern`. */
function waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = pattern.exec(output);
      if (m === null) return false;
      clearTimeout(timer);
      child?.stdout?.off('data', check);
      resolve(m);
      return true;
    };
    const timer = setTimeout(() => reject(new Error(`no ${String(pattern)} in the output of atp-host serve:\n${output}`)), timeoutMs);
    if (!check()) child?.stdout?.on('data', check);
  });
}

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

beforeAll(async () => {
  pageDir = await mkdtemp(path.join(os.tmpdir(), 'atp-serve-page-'));
  await buildVerifierPage(pageDir, { minify: false });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const done = exited(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  }
  await rm(pageDir, { recursive: true, force: true });
});

describe('atp-host serve', () => {
  it('prints a verifier URL with a token, serves the page, the page connects, SIGTERM stops it', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--listen', '127.0.0.1:0', '--agent-id', 'serve-page', '--page-dir', pageDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));

    const [, url] = await waitForOutput(/^verifier: (\S+)$/m);
    const parsed = new URL(url ?? '');
    expect(parsed.hostname).toBe('127.0.0.1');
    expect(parsed.pathname).toBe('/verifier');
    expect(parsed.searchParams.get('agent')).toBe('serve-page');
    // randomBytes(18) in base64url: 24 characters.
    expect(parsed.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await waitForOutput(/^hub: ws:\/\/127\.0\.0\.1:\d+\/ws$/m);

    browser = await launchChromium();
    await browser.page.goto(url ?? '');
    await waitForLinkState(browser.page, 'ready');
    await waitForOutput(/^connected: serve-page \(boot page-/m);

    // A wrong token is refused by that hub.
    const wrong = new URL(parsed);
    wrong.searchParams.set('token', 'not-the-token');
    wrong.searchParams.set('agent', 'intruder');
    const other = await browser.context.newPage();
    await other.goto(wrong.toString());
    await waitForLinkState(other, 'refused');

    const code = exited(child);
    child.kill('SIGTERM');
    expect(await code).toBe(0);
    expect(output).toContain('atp-host serve: stopping');
  }, 120_000);
});
