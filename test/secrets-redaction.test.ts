/**
 * No secret in any artefact of a run. A real lab VM (labUp, its agent given a
 * known token) is verified through the real `atp-host` binary three times: the
 * token from a 0600 --token-file (with JSON, JUnit and HTML reports), from
 * --token-stdin (--json on stdout), and from --token on the command line
 * (accepted, with a warning). Then `atp-host serve` runs with a known agent
 * token and a known API token (both from 0600 files): an agent session over its
 * WebSocket, a refused hello, API calls with the right and a wrong bearer.
 * Every artefact is searched as raw bytes for the token in each form it could
 * travel in (raw, base64, base64url, URL-encoded): stdout, stderr, the report
 * files, the lab's console (the guest agent logs there) and QEMU log, every
 * other file of the lab's state dir, and serve's config dir (runs.db, its
 * WAL). The files whose job is to hold a secret (the lab's token file and
 * state file, the test's own token files) are checked for mode 0600 instead.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, stat, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretForms } from '../host/src/cli/secret-source.js';
import { labDown, labUp, statePaths, type LabVm } from '../host/src/lab/index.js';
import { defaultCacheDir } from '../host/src/lab/paths.js';
import { requireBinary } from '../host/test/support/binaries.js';
import { RawHubClient } from '../host/test/support/hub-client.js';
import { qemuProcessesFor } from './support/e2e-lab.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const MAIN = path.join(repo, 'host/src/cli/main.ts');
const AGENT = { agent: path.join(repo, 'guest-agent/src/main.ts'), agentAliases: { '@atp/protocol': path.join(repo, 'protocol-schemas/src/index.ts') } };
/** The lab accepts letters, digits and . _ - in a token. */
const TOKEN = `redact-${randomBytes(12).toString('hex')}`;
const SUITE = ['version: 1', 'name: redaction', 'target: { vm: lab, layout: us }', 'observer: agent', 'steps:', '  - type: "ok 42"', '  - press: enter', ''].join('\n');

let dir = '';
let stateDir = '';
let vm: LabVm | undefined;
let suiteFile = '';
let tokenFile = '';

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-secrets-redaction-'));
  stateDir = path.join(dir, 'lab');
  suiteFile = path.join(dir, 'redaction.yaml');
  await writeFile(suiteFile, SUITE);
  tokenFile = path.join(dir, 'agent.token');
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  // No hub yet: the agent retries until the CLI's hub opens its channel.
  vm = await labUp({ stateDir, cacheDir: defaultCacheDir(), ...AGENT, agentId: 'lab', token: TOKEN, waitForAgent: false, killOnExit: true, readyTimeoutMs: 240_000 });
}, 600_000);

afterAll(async () => {
  if (stateDir !== '') {
    await labDown({ stateDir }).catch(() => undefined);
    expect(qemuProcessesFor(stateDir)).toEqual([]);
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 120_000);

interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** The real binary (main.ts through tsx) with `args`, `input` on its stdin; ATP_TOKEN is never inherited. */
function atpHost(args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: repo, env: { ...process.env, ATP_TOKEN: '', NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    child.stdin.end(input);
  });
}

/** Every regular file under `root`, recursively. */
async function filesUnder(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(full)));
    else if (entry.isFile()) found.push(full);
  }
  return found;
}

/** Names each artefact that holds the secret in any form (as raw bytes). */
function holders(artefacts: Record<string, Buffer>, secret: string): string[] {
  const forms = secretForms(secret).map((f) => Buffer.from(f, 'utf8'));
  return Object.entries(artefacts).flatMap(([name, bytes]) => forms.filter((f) => bytes.includes(f)).map((f) => `${name} holds ${f.toString()}`));
}

async function expectPrivate(file: string): Promise<void> {
  expect(((await stat(file)).mode & 0o777).toString(8), `${file}'s mode`).toBe('600');
}

function vmArgs(): string[] {
  if (vm === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  return ['--qmp', vm.state.sockets.qmp, '--agent', `virtio:${statePaths(stateDir).agent}`, '--timeout', '300', '--closed-loop', '4'];
}

describe('a verify run on the lab VM leaves its agent token nowhere', () => {
  const artefacts: Record<string, Buffer> = {};

  it('--token-file with JSON, JUnit and HTML reports: passes, no warning', async () => {
    const reports = { json: path.join(dir, 'r.json'), junit: path.join(dir, 'r.xml'), html: path.join(dir, 'r.html') };
    const r = await atpHost(['verify', suiteFile, ...vmArgs(), '--token-file', tokenFile, '--report', `json:${reports.json},junit:${reports.junit},html:${reports.html}`]);
    expect(r.code, `exit ${r.code}\n${r.stdout.toString()}\n${r.stderr.toString()}`).toBe(0);
    expect(r.stderr.toString()).not.toMatch(/warning/);
    Object.assign(artefacts, { 'file run stdout': r.stdout, 'file run stderr': r.stderr });
    for (const [kind, file] of Object.entries(reports)) artefacts[`${kind} report`] = await readFile(file);
    expect(JSON.parse(artefacts['json report']?.toString() ?? '')).toMatchObject({ fleet: { passed: 1, failed: 0, infraError: 0 } });
  }, 400_000);

  it('--token-stdin with --json: passes, no warning', async () => {
    const r = await atpHost(['verify', suiteFile, ...vmArgs(), '--token-stdin', '--json'], `${TOKEN}\n`);
    expect(r.code, `exit ${r.code}\n${r.stderr.toString()}`).toBe(0);
    expect(r.stderr.toString()).not.toMatch(/warning/);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ fleet: { passed: 1, failed: 0, infraError: 0 } });
    Object.assign(artefacts, { 'stdin run stdout': r.stdout, 'stdin run stderr': r.stderr });
  }, 400_000);

  it('--token on the command line: passes with one warning that names the safer sources', async () => {
    const r = await atpHost(['verify', suiteFile, ...vmArgs(), '--token', TOKEN]);
    expect(r.code, `exit ${r.code}\n${r.stderr.toString()}`).toBe(0);
    expect(r.stderr.toString().split('\n').filter((l) => l.includes('warning'))).toEqual([
      'atp-host verify: warning: --token puts the agent token on the command line, where every user of this host sees it (ps); use --token-file FILE (mode 0600), --token-stdin or $ATP_TOKEN',
    ]);
    Object.assign(artefacts, { 'flag run stdout': r.stdout, 'flag run stderr': r.stderr });
  }, 400_000);

  it('no artefact holds the token: outputs, reports, the guest console and every file of the lab state dir', async () => {
    expect(Object.keys(artefacts)).toHaveLength(9);
    const paths = statePaths(stateDir);
    // The two files whose job is to hold it: private.
    await expectPrivate(paths.token);
    await expectPrivate(paths.stateFile);
    await expectPrivate(tokenFile);
    for (const file of await filesUnder(stateDir)) {
      if (file === paths.token || file === paths.stateFile) continue;
      if ((await stat(file)).size > 64 * 1024 * 1024) continue; // never the case for a lab dir; guards a disk image
      artefacts[path.relative(dir, file)] = await readFile(file);
    }
    expect(Object.keys(artefacts)).toContain(path.relative(dir, paths.console));
    expect(holders(artefacts, TOKEN)).toEqual([]);
    // The search finds what is there: the state file does hold the token.
    expect(holders({ 'state file': await readFile(paths.stateFile) }, TOKEN)).toEqual([`state file holds ${TOKEN}`]);
  });
});

describe('atp-host serve leaves its agent and API tokens nowhere', () => {
  it('a session, a refused hello and API calls: stdout, stderr and the config dir hold neither token', async () => {
    const apiToken = `api-${randomBytes(16).toString('base64url')}`;
    const agentToken = `hub-${randomBytes(16).toString('hex')}`;
    const configDir = path.join(dir, 'serve-config');
    const apiFile = path.join(dir, 'api.token');
    const agentFile = path.join(dir, 'hub.token');
    await writeFile(apiFile, `${apiToken}\n`, { mode: 0o600 });
    await writeFile(agentFile, `${agentToken}\n`, { mode: 0o600 });
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--listen', '127.0.0.1:0', '--token-file', agentFile, '--api-token-file', apiFile, '--config-dir', configDir, '--page-dir', path.join(dir, 'no-page')], {
      cwd: repo,
      env: { ...process.env, ATP_TOKEN: '', ATP_API_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      let text = '';
      while (!/^api: /m.test(text)) {
        if (Date.now() > deadline) throw new Error(`serve printed no api: line within 60 s:\n${text}\n${Buffer.concat(err).toString()}`);
        await new Promise((r) => setTimeout(r, 100));
        text = Buffer.concat(out).toString();
      }
      const base = /^atp-host serve: listening on (\S+)$/m.exec(text)?.[1] ?? '';
      expect(text).toMatch(/^verifier: \S+token=TOKEN\S* \(TOKEN: the agent token you gave\)$/m);
      const ws = /^hub: (\S+)$/m.exec(text)?.[1] ?? '';

      const agent = await RawHubClient.connect({ ws });
      agent.hello({ agentId: 'redaction-agent', bootId: randomUUID(), token: agentToken });
      await agent.waitFor('welcome');
      const intruder = await RawHubClient.connect({ ws });
      intruder.hello({ agentId: 'intruder', bootId: randomUUID(), token: `${agentToken}x` });
      await intruder.waitFor('error');
      const ok = await fetch(`${base}/api/v1/runs`, { headers: { authorization: `Bearer ${apiToken}` } });
      expect(ok.status).toBe(200);
      const refused = await fetch(`${base}/api/v1/runs`, { headers: { authorization: `Bearer ${apiToken}x` } });
      expect(refused.status).toBe(401);
      await ok.text();
      await refused.text();
      agent.close();
      intruder.close();
      await new Promise((r) => setTimeout(r, 300)); // the disconnect lines
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const artefacts: Record<string, Buffer> = { 'serve stdout': Buffer.concat(out), 'serve stderr': Buffer.concat(err) };
    expect(artefacts['serve stdout']?.toString()).toMatch(/^connected: redaction-agent /m);
    for (const file of await filesUnder(configDir)) artefacts[path.relative(dir, file)] = await readFile(file);
    expect(Object.keys(artefacts).some((k) => k.includes('runs.db'))).toBe(true);
    expect(holders(artefacts, agentToken)).toEqual([]);
    expect(holders(artefacts, apiToken)).toEqual([]);
    // The search finds what is there (the base64url form of a token file's bytes included).
    expect(holders({ 'api file': await readFile(apiFile), encoded: Buffer.from(Buffer.from(agentToken).toString('base64url')) }, agentToken)).toEqual([`encoded holds ${Buffer.from(agentToken).toString('base64url')}`]);
    expect(holders({ 'api file': await readFile(apiFile) }, apiToken)).toEqual([`api file holds ${apiToken}`]);
  }, 120_000);
});
