/**
 * `atp-host vdi simulate` as a user runs it: in its own process (tsx) it
 * prints the URL and admin user (not a password from the environment),
 * answers login over HTTP, starts a clone, and on SIGTERM destroys it and
 * removes its clone dir before exiting 0. In process: the built-in default
 * password is printed and called the default; a bad seed file or flag exits 2
 * naming the file and field or the flag. The template is a bare SeaBIOS domain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli, type CliIo } from '../src/cli/program.js';
import { simulate } from '../src/cli/vdi-simulate.js';
import type { DomainVO, EventVO } from '../src/vdi-sim/records.js';
import { defineSimTemplate, SimApi, type SimTemplate } from './support/vdi-sim-lab.js';

const MAIN = path.resolve('host/src/cli/main.ts');
const LONG = 240_000;

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

function captureIo(): CliIo & { text: () => string } {
  let text = '';
  return { out: (t) => void (text += t), err: (t) => void (text += t), text: () => text };
}

describe('atp-host vdi simulate', () => {
  let template: SimTemplate | undefined;
  let dir = '';
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    template = await defineSimTemplate({ boot: false });
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vsim-cli-'));
  }, LONG);

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const done = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 30_000);
      await done;
      clearTimeout(timer);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    await template?.remove();
  }, LONG);

  it(
    'serves the API, keeps the password to itself, and cleans up on SIGTERM',
    async () => {
      const tpl = template as SimTemplate;
      const stateDir = path.join(dir, 'state');
      let output = '';
      child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'vdi', 'simulate', '--model', tpl.name, '--port', '0', '--state-dir', stateDir, '--token-lifetime', '600'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ATP_VDI_SIM_PASSWORD: 'env-secret-1234' },
      });
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const url = await vi.waitFor(
        () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output);
          if (m?.[1] === undefined) throw new Error(`no URL printed within 120 s:\n${output}`);
          return m[1];
        },
        { timeout: 120_000, interval: 200 },
      );
      expect(output).toContain('admin user: admin\n');
      expect(output).toContain('admin password: from ATP_VDI_SIM_PASSWORD');
      expect(output).not.toContain('env-secret-1234');

      const api = new SimApi(url);
      await expect(api.login('admin', 'admin123')).rejects.toThrow(/login failed/);
      await api.login('admin', 'env-secret-1234');
      const [model] = (await api.data<{ list: DomainVO[] }>('GET', '/ocloud/v1/model')).list;
      const name = `vsim-cli-${process.pid}`;
      const { eventId } = await api.data<{ eventId: string }>('POST', '/ocloud/v1/desk-pool', { name, amount: 1, modelId: model?.id, type: 1, domainPrefix: name });
      const waitEvent = (id: string): Promise<EventVO> =>
        vi.waitFor(
          async () => {
            const e = await api.data<EventVO>('GET', `/ocloud/v1/event/${id}`);
            if (e.isSuccess === undefined) throw new Error(`event ${id} did not finish`);
            return e;
          },
          { timeout: 120_000, interval: 250 },
        );
      expect(await waitEvent(eventId)).toMatchObject({ isSuccess: 1 });
      const [domain] = (await api.data<{ list: DomainVO[] }>('GET', `/ocloud/v1/domain?keyword=${name}`)).list;
      const started = await api.data<{ eventIdList: string[] }>('POST', '/ocloud/v1/domain/start', { idList: [domain?.id] });
      expect(await waitEvent(started.eventIdList[0] ?? '')).toMatchObject({ isSuccess: 1 });
      expect(await tpl.client.state(domain?.name ?? '')).toBe('running');
      expect(await readdir(stateDir)).toEqual([domain?.name]);

      const code = exited(child);
      child.kill('SIGTERM');
      expect(await code).toBe(0);
      expect(output).toContain('atp-host vdi simulate: stopping');
      expect((await tpl.client.listDomains()).map((d) => d.name)).not.toContain(domain?.name);
      expect(await readdir(stateDir)).toEqual([]);
    },
    LONG,
  );

  it(
    'prints the built-in default password and says it is the default',
    async () => {
      const io = captureIo();
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      const running = simulate({ model: [(template as SimTemplate).name], port: '0' }, io, { env: {}, stopped: () => stopped });
      await vi.waitFor(() => expect(io.text()).toContain('admin password:'), { timeout: 60_000, interval: 100 });
      expect(io.text()).toContain('admin password: admin123 (the built-in default;');
      stop();
      await running;
    },
    LONG,
  );

  it('exits 2 naming the file and field of a bad seed, and a bad flag', async () => {
    const seed = path.join(dir, 'seed.yaml');
    await writeFile(seed, 'ous:\n  - ou: x\n    distinguishedName: OU=x\n    colour: blue\n');
    const io = captureIo();
    expect(await runCli(['vdi', 'simulate', '--model', 'whatever', '--seed', seed], io)).toBe(2);
    expect(io.text()).toMatch(/ATP_SCHEMA_INVALID: .*seed\.yaml.*ous\[0\]/);
    await writeFile(seed, 'admin: [unclosed\n');
    const yamlIo = captureIo();
    expect(await runCli(['vdi', 'simulate', '--model', 'whatever', '--seed', seed], yamlIo)).toBe(2);
    expect(yamlIo.text()).toMatch(/ATP_VDI_SIM_SEED: .*seed\.yaml:\d+:\d+/);
    const io2 = captureIo();
    expect(await runCli(['vdi', 'simulate', '--model', 'whatever', '--token-lifetime', '-5'], io2)).toBe(2);
    expect(io2.text()).toContain('--token-lifetime');
    const io3 = captureIo();
    expect(await runCli(['vdi', 'simulate'], io3)).toBe(2);
    expect(io3.text()).toContain('--model');
  });
});
