/**
 * A server as `atp-host serve` builds it, for the web console's Chromium test:
 * a real AgentHub, the live event log with its producers (agents, metrics,
 * log), the RunManager over a SQLite run store in a temp config dir (suites
 * from the repository's scenarios/, lab VMs from the lab cache), the console
 * and the web verifier page built into temp dirs, every API route, and
 * headless Chromium. Plus a guest-less libvirt domain (SeaBIOS only) on the
 * real libvirtd, so the hosts view has a VM whose state it can show.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startServer, type ApiServer } from '../../host/src/api/index.js';
import type { ApiContext } from '../../host/src/api/v1/context.js';
import { EventLog } from '../../host/src/api/v1/event-log.js';
import { startEventProducers } from '../../host/src/api/v1/events/producers.js';
import { allRoutes } from '../../host/src/api/v1/routes/index.js';
import { attachRuns, type RunManager } from '../../host/src/api/v1/runs/index.js';
import { AgentHub } from '../../host/src/hub/index.js';
import { defaultCacheDir } from '../../host/src/lab/paths.js';
import { VirshLibvirtClient } from '../../host/src/vm/libvirt/client.js';
import { buildDomainXml } from '../../host/src/vm/libvirt/domain-xml.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from '../../host/test/support/libvirtd.js';
import { buildConsole } from '../../web-console/scripts/build.js';
import { buildVerifierPage } from '../../web-verifier/scripts/build.js';
import { launchChromium, type Chromium } from './chromium.js';

export interface ConsoleRig {
  server: ApiServer;
  hub: AgentHub;
  context: ApiContext;
  runs: RunManager;
  /** The API token (what a user types into the sign-in form). */
  apiToken: string;
  /** The token agents (and web verifier pages) present to the hub. */
  hubToken: string;
  /** The guest-less libvirt domain (defined, shut off). */
  domain: string;
  libvirt: VirshLibvirtClient;
  /** Removes the domain and lets other libvirt test files have the daemon (idempotent; close() does it too). */
  releaseLibvirt(): Promise<void>;
  browser: Chromium;
  page: Page;
  /** http://127.0.0.1:PORT/console/ */
  consoleUrl: string;
  close(): Promise<void>;
}

export async function startConsoleRig(options: { width?: number; height?: number } = {}): Promise<ConsoleRig> {
  const cleanup: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-console-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const consoleDir = path.join(dir, 'console');
    const pageDir = path.join(dir, 'page');
    await buildConsole(consoleDir, { minify: false });
    await buildVerifierPage(pageDir);

    // The libvirt suite lock is held only while the hosts view is tested (releaseLibvirt), not through the lab run.
    const release = await acquireLibvirtSuiteLock();
    const libvirt = new VirshLibvirtClient({ uri: SYSTEM_URI });
    const domain = testDomainName('atp-console');
    let released: Promise<void> | undefined;
    const releaseLibvirt = (): Promise<void> =>
      (released ??= (async () => {
        await libvirt.close().catch(() => undefined);
        await removeDomain(domain);
        await release();
      })());
    cleanup.push(releaseLibvirt);
    await ensureLibvirtd();
    await libvirt.define(buildDomainXml({ name: domain, agentSocketPath: path.join(dir, 'agent.sock'), inputs: [{ type: 'tablet', bus: 'usb' }] }));

    const apiToken = randomBytes(24).toString('base64url');
    const hubToken = randomBytes(16).toString('hex');
    const hub = await AgentHub.create({ auth: { tokens: [hubToken] }, timing: { pingIntervalMs: 1000 } });
    cleanup.push(() => hub.close());
    const lines: string[] = [];
    const context: ApiContext = { hub, location: { configDir: path.join(dir, 'config') }, events: new EventLog(), log: (line) => lines.push(line), services: new Map() };
    const producers = startEventProducers(context, { intervalMs: 1000 });
    cleanup.push(() => producers.stop());
    const runs = attachRuns(context, { version: 'console-test', dbFile: path.join(dir, 'runs.db'), lab: { cacheDir: defaultCacheDir(), readyTimeoutMs: 300_000 } });
    cleanup.push(() => runs.close());
    const server = await startServer({ hub, pageDir, consoleDir, api: { token: apiToken, context, routes: allRoutes() } });
    cleanup.push(() => server.close());

    const browser = await launchChromium({ width: options.width ?? 1280, height: options.height ?? 860 });
    cleanup.push(() => browser.close());
    return { server, hub, context, runs, apiToken, hubToken, domain, libvirt, releaseLibvirt, browser, page: browser.page, consoleUrl: `${server.httpUrl}/console/`, close };
  } catch (error) {
    await close();
    throw error;
  }
}
