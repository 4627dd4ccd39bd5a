/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
 * for the web verifier tests. Each launch gets a fresh user-data-dir under
 * os.tmpdir(), removed on close; a browser that does not close in time is
 * killed with SIGKILL, found by that unique profile path in /proc.
 * Missing Chromium fails loudly with the apt-get line (via requireBinary).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { requireBinary } from '../../host/test/support/binaries.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Chromium {
  context: BrowserContext;
  page: Page;
  /** Closes the browser (SIGKILL after a timeout) and removes its profile. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  width?: number;
  height?: number;
}

/** Pids of processes whose command line mentions `needle` (our unique profile dir). */
async function pidsMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<Chromium> {
  // Debian's wrapper script; it execs /usr/lib/chromium/chromium.
  const executablePath = requireBinary('chromium', 'chromium');
  const profile = await mkdtemp(path.join(os.tmpdir(), 'atp-chromium-'));
  const args = [...CHROMIUM_ARGS, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args,
      viewport: { width: options.width ?? 1024, height: options.height ?? 768 },
      timeout: 60_000,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let closed = false;
  return {
    context,
    page,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const closing = context.close().then(() => true, () => false);
      const done = await Promise.race([closing, new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000).unref())]);
      if (!done) {
        for (const pid of await pidsMentioning(profile)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      await rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}
