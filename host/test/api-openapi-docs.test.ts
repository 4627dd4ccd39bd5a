/**
 * The /docs page in real headless Chromium against a real server: Swagger UI
 * loads from the server's own files (every request outside the server is
 * aborted and none is attempted), renders one block per operation of the
 * OpenAPI document, and works with the session cookie: signing in through
 * the page's own "Try it out" of POST /api/v1/session, then running
 * GET /api/v1/agents from the page answers 200 (and 401 before signing in).
 * A screenshot goes to .vitest-artifacts/api-docs/.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { startServer, type ApiServer } from '../src/api/server.js';
import { EventLog } from '../src/api/v1/event-log.js';
import { buildOpenApi } from '../src/api/v1/openapi.js';
import { allRoutes } from '../src/api/v1/routes/index.js';
import { PUBLIC_ROUTES } from '../src/cli/serve.js';
import { AgentHub } from '../src/hub/index.js';
import { launchChromium, type Chromium } from '../../test/support/chromium.js';

const ARTIFACTS = path.resolve('.vitest-artifacts', 'api-docs');
const token = randomBytes(24).toString('base64url');
let server: ApiServer;
let hub: AgentHub;
let browser: Chromium;
const foreign: string[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  hub = await AgentHub.create({ auth: { tokens: [randomBytes(16).toString('hex')] } });
  const context = { hub, location: { configDir: os.tmpdir() }, events: new EventLog(), log: (): void => undefined, services: new Map<string, unknown>() };
  server = await startServer({ hub, pageDir: path.join(os.tmpdir(), 'atp-no-such-page'), api: { token, context, routes: allRoutes(), publicRoutes: PUBLIC_ROUTES } });
  browser = await launchChromium({ width: 1280, height: 1000 });
  await browser.context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith(`${server.httpUrl}/`)) await route.continue();
    else {
      foreign.push(url);
      await route.abort();
    }
  });
  browser.page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await hub?.close();
});

/** The block of one operation (Swagger UI ids it as operations-TAG-OPERATIONID). */
const block = (page: Page, tag: string, operationId: string): Locator => page.locator(`#operations-${tag}-${operationId}`);

/** Expands an operation, presses "Try it out", optionally fills the JSON body, executes, and returns the status shown (then clears it unless `keep`). */
async function execute(page: Page, tag: string, operationId: string, body?: unknown, keep = false): Promise<string> {
  const op = block(page, tag, operationId);
  if ((await op.locator('.try-out__btn').count()) === 0) await op.locator('.opblock-summary-control').click();
  await op.locator('.try-out__btn').click();
  if (body !== undefined) await op.locator('textarea.body-param__text').fill(JSON.stringify(body));
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table tr.response td.response-col_status').first();
  await status.waitFor({ timeout: 30_000 });
  const text = (await status.textContent()) ?? '';
  if (keep) return text.trim();
  await op.locator('.btn-clear').click().catch(() => undefined);
  await op.locator('.try-out__btn').click().catch(() => undefined);
  return text.trim();
}

describe('/docs in Chromium', () => {
  it('renders every operation of the document from the server\'s own files', async () => {
    const { page } = browser;
    await page.goto(`${server.httpUrl}/docs`, { waitUntil: 'load', timeout: 60_000 });
    const doc = buildOpenApi(allRoutes());
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    await expect.poll(() => page.locator('.opblock').count(), { timeout: 60_000 }).toBe(operations);
    expect(await page.locator('.info .title').first().textContent()).toMatch(/^ATP API/);
    expect(foreign).toEqual([]);
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it('runs requests from the page: 401 before signing in, 200 with the session cookie after', async () => {
    const { page } = browser;
    expect(await execute(page, 'agents', 'getAgents')).toBe('401');
    expect(await execute(page, 'session', 'postSession', { token })).toBe('200');
    const cookies = await browser.context.cookies(server.httpUrl);
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['atp_session', true, 'Strict']]);
    expect(await execute(page, 'agents', 'getAgents', undefined, true)).toBe('200');
    const agents = block(page, 'agents', 'getAgents');
    expect(await agents.locator('.live-responses-table .microlight, .live-responses-table pre').first().textContent()).toContain('"agents"');
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs.png'), fullPage: false });
    await agents.scrollIntoViewIfNeeded();
    await agents.screenshot({ path: path.join(ARTIFACTS, 'docs-try-it-out.png') });
    expect(foreign).toEqual([]);
  }, 180_000);
});
