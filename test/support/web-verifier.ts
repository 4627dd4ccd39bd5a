/**
 * A web verifier rig for the Chromium tests: a real AgentHub, the page built on
 * demand into a temp dir, the API server (startServer) and headless Chromium.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObservedEvent } from '@atp/protocol';
import type { Page } from 'playwright-core';
import type {} from '../../web-verifier/src/control.js';
import { startServer, type ApiServer } from '../../host/src/api/index.js';
import { AgentHub, type AgentHubOptions, type HubItem } from '../../host/src/hub/index.js';
import { StreamCollector } from '../../host/test/support/hub-collect.js';
import { buildVerifierPage } from '../../web-verifier/scripts/build.js';
import { launchChromium, type Chromium } from './chromium.js';

export const TOKEN = 'web-verifier-test-token';

export interface Rig {
  hub: AgentHub;
  server: ApiServer;
  browser: Chromium;
  page: Page;
  pageDir: string;
  collector: StreamCollector;
  /** Opens the page for `agentId` with `token`. */
  open(agentId: string, token?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startRig(hubOptions: Partial<AgentHubOptions> = {}): Promise<Rig> {
  const pageDir = await mkdtemp(path.join(os.tmpdir(), 'atp-verifier-page-'));
  const cleanup: (() => Promise<unknown>)[] = [() => rm(pageDir, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    await buildVerifierPage(pageDir, { minify: false });
    const hub = await AgentHub.create({ auth: { tokens: [TOKEN] }, timing: { pingIntervalMs: 1000 }, ...hubOptions });
    cleanup.push(() => hub.close());
    const collector = new StreamCollector(hub.stream());
    const server = await startServer({ hub, pageDir });
    cleanup.push(() => server.close());
    const browser = await launchChromium();
    cleanup.push(() => browser.close());
    const rig: Rig = {
      hub,
      server,
      browser,
      page: browser.page,
      pageDir,
      collector,
      open: async (agentId, token = TOKEN) => {
        await browser.page.goto(server.verifierUrl({ token, agentId }));
      },
      close,
    };
    return rig;
  } catch (error) {
    await close();
    throw error;
  }
}

/** Waits until the page's link reports `state` (ready, refused, backoff, …). */
export async function waitForLinkState(page: Page, state: string, timeoutMs = 20_000): Promise<void> {
  await page.waitForFunction((s) => window.atpVerifier?.status().state === s, state, { timeout: timeoutMs, polling: 50 });
}

/** Events the hub delivered for `agentId`, in delivery order. */
export function hubEvents(items: readonly HubItem[], agentId: string): ObservedEvent[] {
  return items.filter((i): i is Extract<HubItem, { kind: 'event' }> => i.kind === 'event' && i.agentId === agentId).map((i) => i.event);
}

/** One line per event, the fields a test compares. */
export function summarize(e: ObservedEvent): string {
  switch (e.kind) {
    case 'key':
      return `key ${e.action} ${e.key} ${e.native?.domKey ?? ''} [${(e.modifiers ?? []).join('+')}]`;
    case 'text':
      return `text ${JSON.stringify(e.text)} ${e.inputType ?? ''}${e.composing === true ? ' composing' : ''}`;
    case 'composition':
      return `composition ${e.phase} ${JSON.stringify(e.data)}`;
    case 'button':
      return `button ${e.button} ${e.action} ${e.x ?? '?'},${e.y ?? '?'}`;
    case 'abs':
      return `abs ${e.x},${e.y}`;
    case 'wheel':
      return `wheel ${e.dy} ${e.dx} hires ${e.hiRes?.dy ?? '?'}`;
    case 'focus':
      return `focus ${e.state}`;
    default:
      return e.kind;
  }
}
