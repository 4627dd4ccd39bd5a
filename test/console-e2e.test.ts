/**
 * The web console in real headless Chromium against a real server (the API,
 * the live events, the run store, the lab VM): sign in with the API token
 * (kept nowhere the page can read), the hosts view with a guest-less libvirt
 * domain whose state changes, a run of scenarios/smoke.yaml on a lab VM
 * started with the keyboard only and followed live to its verdict, the
 * report with per-VM and per-suite results and its latency plots, the HTML
 * report, the run in the history, and monitoring with a real web verifier
 * page connected as an agent. Screenshots of each view go to
 * test-artifacts/console/; ATP_UPDATE_DOCS_SCREENSHOT=1 also writes
 * docs/console.png (the README's picture of the run view).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReportV1 } from '@atp/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeFailedRun } from './support/console-failed-run.js';
import { startConsoleRig, type ConsoleRig } from './support/console-rig.js';
import { ARTIFACTS, focusOutline, shot, tabTo, waitInPage, watchPage, type PageWatch } from './support/console-page.js';

let rig: ConsoleRig;
let watch: PageWatch;
let runId = '';
let report: ReportV1 | undefined;

/** GET from the API with the bearer token, as a script would. */
async function api(apiPath: string): Promise<unknown> {
  const response = await fetch(`${rig.server.httpUrl}/api/v1${apiPath}`, { headers: { authorization: `Bearer ${rig.apiToken}` } });
  if (!response.ok) throw new Error(`GET /api/v1${apiPath}: ${response.status} ${await response.text()}`);
  return response.json();
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  rig = await startConsoleRig();
  watch = watchPage(rig.page, rig.server.httpUrl);
}, 300_000);

afterAll(async () => {
  await rig?.close();
}, 180_000);

const heading = (page: ConsoleRig['page']): Promise<string> => page.evaluate(() => document.querySelector('main h1')?.textContent ?? '');
const activeIsHeading = (page: ConsoleRig['page']): Promise<boolean> => page.evaluate(() => document.activeElement?.tagName === 'H1');

/** Keyboard: Tab to the nav link, Enter; the new view's heading gets the focus. */
async function navigateByKeyboard(label: string, title: string): Promise<void> {
  const { page } = rig;
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await tabTo(page, `nav a[href="#/${label}"]`, 30);
  expect((await focusOutline(page)).style).not.toBe('none');
  await page.keyboard.press('Enter');
  await waitInPage(page, `the ${title} view`, (t) => document.querySelector('main h1')?.textContent === t, title, 30_000);
  expect(await activeIsHeading(page)).toBe(true);
}

describe('web console in Chromium', () => {
  it('signs in with the API token, keeping it out of the URL and of anything the page can read', async () => {
    const { page } = rig;
    await page.goto(rig.consoleUrl);
    await waitInPage(page, 'the sign-in form', () => document.querySelector('main h1')?.textContent === 'Sign in', null, 30_000);
    await shot(page, '01-signin');

    await page.fill('#token', 'not-the-token');
    await page.keyboard.press('Enter');
    await waitInPage(page, 'the refusal', () => document.querySelector('#signin-error:not([hidden])')?.textContent?.includes('ATP_API_AUTH') === true, null, 15_000);
    expect(await page.inputValue('#token')).toBe('');

    // Keyboard only: the field has the focus back after the refusal.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token');
    await page.keyboard.type(rig.apiToken);
    await page.keyboard.press('Enter');
    await waitInPage(page, 'the hosts view after sign-in', () => document.querySelector('main h1')?.textContent === 'Hosts and VMs', null, 30_000);
    expect(page.url()).not.toContain(rig.apiToken);
    const readable = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length, html: document.documentElement.outerHTML }));
    expect(readable).toMatchObject({ cookie: '', local: 0, session: 0 });
    expect(readable.html).not.toContain(rig.apiToken);
    const cookies = await rig.browser.context.cookies();
    expect(cookies.find((c) => c.name === 'atp_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  }, 90_000);

  it("lists this machine's libvirt domains with their state, and follows a state change", async () => {
    const { page } = rig;
    // Runs in the page: the state pill of the domain's row is `want`.
    const stateIs = (arg: string | null): boolean => {
      const [domain, want] = (arg ?? '').split(' ');
      const row = [...document.querySelectorAll('tbody tr')].find((tr) => tr.querySelector('th')?.textContent === domain);
      return row?.querySelector('.pill')?.textContent === want;
    };
    await waitInPage(page, `domain ${rig.domain} shut off`, stateIs, `${rig.domain} shutoff`, 60_000);
    await rig.libvirt.start(rig.domain);
    try {
      // No click: the view refreshes on its own (timer, live events).
      await waitInPage(page, `domain ${rig.domain} running`, stateIs, `${rig.domain} running`, 60_000);
      await shot(page, '02-hosts');
    } finally {
      await rig.releaseLibvirt();
    }
  }, 180_000);

  it('starts a run of smoke.yaml on a lab VM with the keyboard only and follows it to the verdict', async () => {
    const { page } = rig;
    await navigateByKeyboard('start', 'Start a run');
    await waitInPage(page, 'the suite list', () => document.querySelector('input[value="smoke.yaml"]') !== null, null, 60_000);
    await tabTo(page, 'input[value="smoke.yaml"]');
    expect(await focusOutline(page)).toMatchObject({ style: 'solid', width: 3 });
    await page.keyboard.press('Space');
    expect(await page.isChecked('input[value="smoke.yaml"]')).toBe(true);
    // Closed-loop pacing: on this busy 2-core machine an open-loop suite can outrun the guest (as api-runs.test.ts does).
    const order = await tabTo(page, '#pacing');
    await page.keyboard.press('ArrowDown');
    expect(await page.inputValue('#pacing')).toBe('closed');
    order.push(...(await tabTo(page, 'form button[type="submit"]')));
    const at = (id: string): number => order.findIndex((f) => f.includes(`#${id}`));
    const ids = ['target-lab', 'lab-count', 'concurrency', 'rounds', 'on-failure', 'pacing'];
    for (const id of ids) expect(at(id), `${id} in the focus order ${order.join(' → ')}`).toBeGreaterThanOrEqual(0);
    expect(ids.map(at)).toEqual([...ids.map(at)].sort((a, b) => a - b));
    expect(order.some((f) => f.includes('#vm-selector')), 'the disabled VM fields are skipped').toBe(false);
    await shot(page, '03-start-run');
    await page.keyboard.press('Enter');

    await waitInPage(page, 'the run page', () => /^Run [0-9a-f-]{36}$/.test(document.querySelector('main h1')?.textContent ?? ''), null, 60_000);
    runId = (await heading(page)).slice('Run '.length);
    expect(page.url()).toContain(`#/runs/${runId}`);
    // Live progress: the lab VM boots (TCG: minutes on a busy machine), then steps go by.
    await waitInPage(page, 'a step of smoke running on the lab VM', () => /smoke(\.yaml)?: step \d+/.test(document.querySelector('table.progress')?.textContent ?? ''), null, 600_000);
    await shot(page, '04-run-progress');
    await waitInPage(page, 'the run to end', () => ['passed', 'failed', 'error', 'cancelled', 'interrupted'].includes(document.querySelector('#run-status .pill')?.textContent ?? ''), null, 900_000);
    // What the server says, to compare with what the page shows (and kept for whoever reads a failure).
    const detail = (await api(`/runs/${runId}`)) as { status: string };
    report = (await api(`/runs/${runId}/report`)) as ReportV1;
    await writeFile(path.join(ARTIFACTS, 'run-report.json'), JSON.stringify({ detail, report }, null, 2));
    expect(await page.textContent('#run-status .pill')).toBe(detail.status);
    const kinds = report.suites.flatMap((suite) => suite.findings.map((f) => f.kind));
    expect(detail.status, `findings: ${kinds.join(', ')} (test-artifacts/console/run-report.json)`).toBe('passed');
  }, 1_700_000);

  it('shows the report: results per VM and per suite, the latency plots, and the HTML report', async () => {
    const { page } = rig;
    await waitInPage(page, 'the results', () => document.querySelector('#results-title') !== null, null, 60_000);
    const rows = await page.$$eval('table caption', (captions) => captions.map((c) => [c.textContent, c.closest('table')?.querySelector('tbody tr')?.textContent ?? '']));
    expect(rows).toContainEqual(['Results per VM', expect.stringMatching(/^labpassed/)]);
    expect(rows).toContainEqual(['Results per suite', expect.stringMatching(/^labsmoke.*pass/)]);
    const plots = await page.$$eval('svg.plot', (svgs) => svgs.map((s) => ({ title: s.querySelector('title')?.textContent, bars: s.querySelectorAll('rect.bar[height]').length, tall: [...s.querySelectorAll('rect.bar')].filter((r) => Number(r.getAttribute('height')) > 0).length, paths: s.querySelectorAll('path').length })));
    expect(plots.map((p) => p.title)).toEqual(['Latency histogram', 'Latency over time']);
    expect(plots[0]?.tall).toBeGreaterThan(0);
    expect(plots[1]?.paths).toBeGreaterThan(0);
    const findings = report?.suites.flatMap((suite) => suite.findings) ?? [];
    expect(await page.textContent('#findings-title')).toBe(`Findings (${findings.length})`);
    expect(await page.locator('li.finding').count()).toBe(Math.min(200, findings.length));
    const withSides = findings.slice(0, 200).filter((f) => f.expected !== undefined || f.observed !== undefined).length;
    expect(await page.locator('li.finding table.diff').count()).toBe(withSides);
    await shot(page, '05-run-report', { fullPage: true });
    if (process.env.ATP_UPDATE_DOCS_SCREENSHOT === '1') await shot(page, 'console', { path: path.resolve('docs', 'console.png'), fullPage: true });

    const [htmlPage] = await Promise.all([rig.browser.context.waitForEvent('page'), page.click('a:text("HTML report (new tab)")')]);
    await htmlPage.waitForLoadState('load');
    expect(htmlPage.url()).toBe(`${rig.server.httpUrl}/api/v1/runs/${runId}/report.html`);
    expect(await htmlPage.locator('svg').count()).toBeGreaterThan(0);
    await shot(htmlPage, '06-html-report', { fullPage: true });
    await htmlPage.close();
  }, 120_000);

  it('lists the run in the history and opens it again by keyboard', async () => {
    const { page } = rig;
    await navigateByKeyboard('runs', 'Runs');
    await waitInPage(page, `run ${runId} in the history`, (id) => [...document.querySelectorAll('table.runs tbody tr')].some((tr) => tr.textContent?.includes(id ?? '?') === true && tr.textContent.includes('passed')), runId, 30_000);
    await shot(page, '07-runs');
    await tabTo(page, `a[href="#/runs/${runId}"]`);
    await page.keyboard.press('Enter');
    await waitInPage(page, 'the run page again', (id) => document.querySelector('main h1')?.textContent === `Run ${id}` && document.querySelector('#plots-title') !== null, runId, 30_000);
    expect(await activeIsHeading(page)).toBe(true);
  }, 90_000);

  it('shows a failed run\'s findings with their expected/observed diff, markup in messages as text', async () => {
    const { page } = rig;
    const failed = storeFailedRun(rig.runs);
    const findings = failed.report.suites.flatMap((s) => s.findings);
    await page.goto(`${rig.consoleUrl}#/runs/${failed.id}`);
    await waitInPage(page, 'the failed run\'s findings', (n) => document.querySelector('#findings-title')?.textContent === `Findings (${n})`, String(findings.length), 30_000);
    expect(await page.textContent('#run-status .pill')).toBe('failed');
    expect(await page.locator('li.finding').count()).toBe(findings.length);
    expect(await page.locator('li.finding table.diff').count()).toBe(findings.filter((f) => f.expected !== undefined || f.observed !== undefined).length);
    const wrongKey = page.locator('li.finding', { hasText: 'expected KEY_Z, got KEY_Y' });
    expect(await wrongKey.locator('tr.differs th').innerText()).toMatch(/^key\s+differs$/);
    expect(await wrongKey.locator('tr.differs td.expected').innerText()).toBe('KEY_Z');
    expect(await wrongKey.locator('tr.differs td.observed').innerText()).toBe('KEY_Y');
    expect(await page.locator('.findings b').count(), 'a message with <b> is shown as text').toBe(0);
    expect(await page.locator('li.finding', { hasText: '<b>' }).count()).toBe(1);
    await page.locator('#findings-title').scrollIntoViewIfNeeded();
    await shot(page, '09-run-findings', { fullPage: true });
  }, 60_000);

  it('monitors the agents and the hub load, with a web verifier page connected', async () => {
    const { page } = rig;
    const verifier = await rig.browser.context.newPage();
    try {
      await verifier.goto(rig.server.verifierUrl({ token: rig.hubToken, agentId: 'console-demo' }));
      await navigateByKeyboard('monitor', 'Monitoring');
      await waitInPage(page, 'the console-demo agent', () => document.body.innerText.includes('console-demo'), null, 60_000);
      await verifier.click('#capture');
      await verifier.keyboard.type('the console watches this agent type', { delay: 40 });
      await waitInPage(page, 'events/s above 0 in the hub load', () => {
        const figure = [...document.querySelectorAll('.facts div')].find((d) => d.querySelector('dt')?.textContent === 'Events in all');
        return Number(figure?.querySelector('dd')?.textContent ?? '0') > 0;
      }, null, 60_000);
      await waitInPage(page, 'the hub load plots', () => document.querySelectorAll('svg.plot path').length >= 2, null, 30_000);
      await shot(page, '08-monitor', { fullPage: true });
    } finally {
      await verifier.close();
    }
  }, 150_000);

  it('broke no CSP rule, threw no error and asked nothing of another origin', () => {
    expect(watch.problems).toEqual([]);
    expect(watch.foreign).toEqual([]);
  });
});
