/** Agent configuration: precedence flags > env > file > defaults, and errors that name the source and field. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { SETTINGS } from '../src/config-schema.js';
import { agentIdFromHostname, loadAgentConfig } from '../src/config.js';
import { AGENT_VERSION } from '../src/version.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-agent-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = path.join(dir, name);
  // 0600: a token file group or other may read is refused (config-token.ts).
  await writeFile(p, text, { mode: 0o600 });
  return p;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('loadAgentConfig', () => {
  it('uses the defaults, with the hostname as agent id and the virtio port', async () => {
    const config = await loadAgentConfig({ env: { ATP_AGENT_TOKEN: 't' }, hostname: 'guest one' });
    expect(config).toMatchObject({
      agentId: 'guest-one',
      token: 't',
      link: 'virtio',
      endpoint: 'org.atp.agent.0',
      resendCapacity: 100_000,
      batchWindowMs: 2,
      logLevel: 'info',
      capture: 'linux-evdev',
      devices: [],
      allowExec: false,
      shutdownTimeoutMs: 2_000,
      watchdogMs: 30_000,
      maxDevices: 128,
    });
    expect(config.sources).toEqual({ token: 'env' });
  });

  it('lets flags beat the environment, which beats the file, which beats the defaults', async () => {
    const yaml = await file('agent.yaml', 'agentId: from-file\ntoken: file-token\nlink: tcp\nendpoint: 10.0.0.1:1\nresendCapacity: 10\nlogLevel: warn\ndevices: [event1]\n');
    const config = await loadAgentConfig({
      flags: { config: yaml, endpoint: '127.0.0.1:9', batchWindowMs: '7', allowExec: true },
      env: { ATP_AGENT_ENDPOINT: '127.0.0.1:8', ATP_AGENT_RESEND_CAPACITY: '20', ATP_AGENT_DEVICES: 'event2, event3' },
    });
    expect(config).toMatchObject({
      agentId: 'from-file',
      token: 'file-token',
      link: 'tcp',
      endpoint: '127.0.0.1:9',
      resendCapacity: 20,
      batchWindowMs: 7,
      logLevel: 'warn',
      devices: ['event2', 'event3'],
      allowExec: true,
      configFile: yaml,
    });
    expect(config.sources).toMatchObject({ agentId: 'file', endpoint: 'flag', resendCapacity: 'env', batchWindowMs: 'flag', logLevel: 'file', allowExec: 'flag' });
  });

  it('reads JSON too, takes the config path from ATP_AGENT_CONFIG, and a token from a token file', async () => {
    const tokenFile = await file('token', '  s3cret\n');
    const json = await file('agent.json', JSON.stringify({ link: 'ws', endpoint: 'ws://127.0.0.1:1/agent', tokenFile }));
    const config = await loadAgentConfig({ env: { ATP_AGENT_CONFIG: json, ATP_AGENT_ALLOW_EXEC: 'false' } });
    expect(config).toMatchObject({ token: 's3cret', link: 'ws', allowExec: false });
    // A token from a higher-precedence source beats the file's tokenFile.
    expect((await loadAgentConfig({ env: { ATP_AGENT_CONFIG: json }, flags: { token: 'flag' } })).token).toBe('flag');
  });

  it('names the file and the field of a bad config file value, and refuses unknown keys', async () => {
    const bad = await file('bad.yaml', 'token: t\nresendCapacity: lots\n');
    const error = await failure(loadAgentConfig({ flags: { config: bad } }));
    expect(isAtpError(error, 'ATP_SCHEMA_INVALID')).toBe(true);
    expect(error.message).toContain(bad);
    expect(error.message).toMatch(/resendCapacity: expected number, got string/);
    const typo = await file('typo.yaml', 'token: t\nbatchWindow: 5\n');
    expect((await failure(loadAgentConfig({ flags: { config: typo } }))).message).toMatch(/typo\.yaml.*batchWindow: unknown field/);
    const broken = await file('broken.yaml', 'token: [\n');
    const parseError = await failure(loadAgentConfig({ flags: { config: broken } }));
    expect(isAtpError(parseError, 'ATP_AGENT_CONFIG')).toBe(true);
    expect(parseError.message).toContain(broken);
    const missing = await failure(loadAgentConfig({ flags: { config: path.join(dir, 'nope.yaml') } }));
    expect(missing.message).toMatch(/nope\.yaml: cannot read/);
  });

  it('names the variable or flag of a bad environment or command-line value', async () => {
    const envError = await failure(loadAgentConfig({ env: { ATP_AGENT_TOKEN: 't', ATP_AGENT_BATCH_WINDOW_MS: 'soon' } }));
    expect(envError.message).toMatch(/^environment: invalid agent config: ATP_AGENT_BATCH_WINDOW_MS: .*"soon"/);
    const flagError = await failure(loadAgentConfig({ env: { ATP_AGENT_TOKEN: 't' }, flags: { link: 'carrier-pigeon' } }));
    expect(flagError.message).toMatch(/^command line: invalid agent config: --link: /);
    const idError = await failure(loadAgentConfig({ env: { ATP_AGENT_TOKEN: 't', ATP_AGENT_ID: 'has space' } }));
    expect(idError.message).toMatch(/ATP_AGENT_ID/);
  });

  it('requires a token, an endpoint for tcp and ws, and one of token / tokenFile per source', async () => {
    expect((await failure(loadAgentConfig({}))).message).toMatch(/^token: required/);
    expect((await failure(loadAgentConfig({ env: { ATP_AGENT_TOKEN: 't', ATP_AGENT_LINK: 'tcp' } }))).message).toMatch(/^endpoint: required for a tcp link/);
    const both = await failure(loadAgentConfig({ flags: { token: 'a', tokenFile: '/x' } }));
    expect(both.message).toMatch(/command line: set token or tokenFile, not both/);
    const unreadable = await failure(loadAgentConfig({ env: { ATP_AGENT_TOKEN_FILE: path.join(dir, 'none') } }));
    expect(unreadable.message).toMatch(/tokenFile .*none \(set by environment\): cannot read it/);
  });

  it('keeps every setting documented in the README and the version in step with package.json', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const s of SETTINGS) {
      expect(readme).toContain(`\`${s.key}\``);
      expect(readme).toContain(`\`${s.env}\``);
      expect(readme).toContain(`\`--${s.flag}`);
    }
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
    expect(agentIdFromHostname('')).toBe('atp-agent');
  });
});
