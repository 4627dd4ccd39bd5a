/**
 * The agent token on both sides of the link, with a real hub (TCP) and the
 * real guest agent process:
 *  - errors that had the token in their input never carry it: a hello with a
 *    wrong token, a malformed hello and an oversized frame holding the token
 *    (what the hub answers, its refusal log, its metrics and notices); an agent
 *    config with a bad token flag, a broken config file holding one, a bad
 *    token file, a line that is not JSON;
 *  - the agent's token file: group/other-readable refused on Linux
 *    (ATP_AGENT_CONFIG naming file and mode), not checked on win32; `-` and
 *    --token-stdin read the first line and leave the rest (the stdin-json
 *    capture gets it); --token on the command line logs a warning.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { loadAgentConfig } from '../guest-agent/src/config.js';
import { readTokenFile } from '../guest-agent/src/config-token.js';
import { AgentHub } from '../host/src/hub/index.js';
import { secretForms } from '../host/src/cli/secret-source.js';
import { RawHubClient } from '../host/test/support/hub-client.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const AGENT_MAIN = path.join(repo, 'guest-agent/src/main.ts');
const RIGHT = 'right-token-Hq3LpV8sKd2Wz';
const WRONG = 'wrong-token-Xu7RbN4cTg9Me';
let dir = '';
let hub: AgentHub;
let port = 0;
const hubNotices: string[] = [];
const stopNotices = new AbortController();

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-secrets-agent-'));
  hub = await AgentHub.create({ auth: { tokens: [RIGHT] } });
  port = (await hub.listenTcp({ port: 0 })).port;
  void (async () => {
    try {
      for await (const item of hub.stream({ match: () => true }, { from: 'now', signal: stopNotices.signal })) hubNotices.push(JSON.stringify(item));
    } catch {
      // aborted at the end
    }
  })();
});
afterAll(async () => {
  stopNotices.abort();
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

/** No form of the secret (raw, base64, URL-encoded) anywhere in `text`. */
function expectClean(text: string, secret: string, where: string): void {
  for (const form of secretForms(secret)) expect(text.includes(form), `${where} holds ${form === secret ? 'the secret' : 'an encoding of the secret'}`).toBe(false);
}

async function failure(promise: Promise<unknown>): Promise<AtpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AtpError) return error;
    throw error;
  }
  throw new Error('expected an AtpError');
}
const dump = (e: AtpError): string => `${e.message} ${JSON.stringify(e.details)} ${e.cause instanceof Error ? e.cause.message : ''}`;

async function file(name: string, text: string, mode: number): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, text, { mode });
  await chmod(p, mode);
  return p;
}

describe('the hub never echoes a token it was handed', () => {
  it('a wrong token, a malformed hello and an oversized frame holding the token', async () => {
    const answers: string[] = [];
    const wrong = await RawHubClient.connect({ tcp: { port } });
    wrong.hello({ agentId: 'intruder', bootId: randomUUID(), token: WRONG });
    const refused = await wrong.waitFor('error');
    expect(refused.body.code).toBe('ATP_HUB_AUTH');
    await wrong.waitClosed();
    answers.push(JSON.stringify(wrong.received));

    const malformed = await RawHubClient.connect({ tcp: { port } });
    // Valid JSON, not a valid hello: the token beside bad fields, and again under a misspelt key.
    malformed.sendRaw(`${JSON.stringify({ v: 1, type: 'hello', body: { agentId: 'has a space', bootId: 'not-a-uuid', token: WRONG, tokn: WRONG } })}\n`);
    await malformed.waitClosed();
    answers.push(JSON.stringify(malformed.received));

    const big = await RawHubClient.connect({ tcp: { port } });
    big.sendRaw(`{"type":"hello","body":{"token":"${WRONG}","pad":"${'x'.repeat(2 * 1024 * 1024)}"}}\n`);
    await big.waitClosed(60_000);
    answers.push(JSON.stringify(big.received));

    await sleep(100); // the last notices reach the stream
    expect(answers.map((a) => (JSON.parse(a) as { body: { code: string } }[])[0]?.body.code)).toEqual(['ATP_HUB_AUTH', 'ATP_SCHEMA_INVALID', 'ATP_FRAME_TOO_LARGE']);
    expectClean(answers.join('\n'), WRONG, 'what the hub answered');
    expectClean(JSON.stringify(hub.refusals()), WRONG, 'the refusal log');
    expect(hub.refusals().some((r) => r.code === 'ATP_HUB_AUTH' && r.agentId === 'intruder')).toBe(true);
    expectClean(JSON.stringify(hub.metrics()), WRONG, 'the metrics');
    expectClean(hubNotices.join('\n'), WRONG, 'the hub notices');
  }, 90_000);

  // ATP_FRAME_INVALID_JSON goes back to the peer; it used to quote the frame's first 80 characters
  // (framing.ts invalidJson, used by NDJSON and the WebSocket listener alike).
  it('a line that is not JSON holding the token (ATP_FRAME_INVALID_JSON names the length and position, never the text)', async () => {
    const garbage = await RawHubClient.connect({ tcp: { port } });
    garbage.sendRaw(`{"type":"hello","token":"${WRONG}",,,\n`);
    await garbage.waitClosed();
    expect(garbage.received[0]).toMatchObject({ type: 'error', body: { code: 'ATP_FRAME_INVALID_JSON' } });
    expectClean(JSON.stringify(garbage.received), WRONG, 'what the hub answered');
  }, 30_000);
});

describe('the agent config never quotes its token', () => {
  it('a bad token flag or variable, a broken config file holding one, and a bad token file', async () => {
    const long = `${RIGHT}${'y'.repeat(5000)}`;
    const flag = await failure(loadAgentConfig({ flags: { token: long } }));
    expect(flag.message).toMatch(/^command line: invalid agent config: --token: /);
    expectClean(dump(flag), RIGHT, 'the flag error');
    const env = await failure(loadAgentConfig({ env: { ATP_AGENT_TOKEN: long } }));
    expectClean(dump(env), RIGHT, 'the environment error');
    const broken = await file('broken.yaml', `link: tcp\ntoken: ${RIGHT}: [\n`, 0o600);
    const yaml = await failure(loadAgentConfig({ flags: { config: broken } }));
    expect(yaml).toMatchObject({ code: 'ATP_AGENT_CONFIG' });
    expect(yaml.message).toMatch(new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: not valid YAML or JSON: `));
    expectClean(yaml.message, RIGHT, 'the YAML error');
    const twoLines = await file('two-lines.token', `${RIGHT}\n${RIGHT}\n`, 0o600);
    const multi = await failure(loadAgentConfig({ flags: { tokenFile: twoLines } }));
    expectClean(dump(multi), RIGHT, 'the token file error');
  });

  it('a token file group or other may read is refused on Linux naming file and mode, read on win32; `-` reads standard input', async () => {
    const open = await file('open.token', `${RIGHT}\n`, 0o644);
    const e = await failure(loadAgentConfig({ flags: { tokenFile: open } }));
    expect(e).toMatchObject({ code: 'ATP_AGENT_CONFIG', details: { file: open, field: 'tokenFile', mode: '0644' } });
    expect(e.message).toBe(`tokenFile ${open} (set by command line): group or other may read or write it (mode 0644); run chmod 600 ${open}`);
    expect(await readTokenFile(open, 'test', { platform: 'win32' })).toBe(RIGHT);
    const dirAsFile = await failure(readTokenFile(dir, 'test'));
    expect(dirAsFile.message).toBe(`tokenFile ${dir} (set by test): not a regular file`);
    const good = await file('good.token', `  ${RIGHT}\n`, 0o600);
    expect((await loadAgentConfig({ env: { ATP_AGENT_TOKEN_FILE: good } })).token).toBe(RIGHT);

    const stdin = new PassThrough();
    stdin.end(`${RIGHT}\n{"kind":"key"}\n`);
    expect((await loadAgentConfig({ flags: { tokenFile: '-' }, stdin })).token).toBe(RIGHT);
    stdin.setEncoding('utf8');
    let rest = '';
    for await (const chunk of stdin) rest += String(chunk);
    expect(rest).toBe('{"kind":"key"}\n');
    const empty = new PassThrough();
    empty.end('');
    expect((await failure(loadAgentConfig({ flags: { tokenFile: '-' }, stdin: empty }))).message).toMatch(/token from standard input \(set by command line\): expected one token/);
  });
});

interface Agent {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startAgent(args: string[]): Agent {
  const child = spawn(process.execPath, ['--import', 'tsx', AGENT_MAIN, 'run', '--link', 'tcp', '--endpoint', `127.0.0.1:${port}`, '--capture', 'stdin-json', ...args], {
    cwd: repo,
    env: { ...process.env, ATP_AGENT_TOKEN: '', ATP_AGENT_TOKEN_FILE: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

async function until(what: string, ready: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('atp-agent run', () => {
  it('--token-stdin: the first line is the token, the next lines are the stdin-json events; no warning', async () => {
    const agent = startAgent(['--token-stdin', '--agent-id', 'stdin-agent']);
    try {
      agent.child.stdin.write(`${RIGHT}\n{"kind":"key","key":"KEY_A","action":"down","device":"event1"}\n`);
      await until('the stdin-agent session', () => hub.sessions().some((s) => s.agentId === 'stdin-agent'));
      await until('its first event', () => hub.lastEventAt('stdin-agent') !== undefined);
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
      expect(agent.stderr()).not.toContain('"level":"warn"');
      expectClean(agent.stderr(), RIGHT, 'the agent log');
    } finally {
      agent.child.kill('SIGKILL');
    }
  }, 90_000);

  it('--token on the command line logs a warning naming the safer sources; a refused token is logged without it', async () => {
    const agent = startAgent(['--token', WRONG, '--agent-id', 'flag-agent']);
    try {
      await until('the refusal in the agent log', () => agent.stderr().includes('refused the agent token'));
      const warn = agent.stderr().split('\n').find((l) => l.includes('"level":"warn"') && l.includes('--token-file'));
      expect(warn).toContain('use --token-file FILE (mode 0600), --token-stdin or ATP_AGENT_TOKEN_FILE');
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
      expectClean(agent.stderr(), WRONG, 'the agent log');
      expectClean(JSON.stringify(hub.refusals()), WRONG, 'the refusal log');
    } finally {
      agent.child.kill('SIGKILL');
    }
  }, 90_000);
});
