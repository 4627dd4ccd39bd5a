/**
 * /api/v1/command/exec against a real server and a real libvirt domain that
 * has a guest agent: the lab guest (one TCG boot, test/support/e2e-libvirt.ts)
 * with qemu-ga on its virtio channel. A program's exit code, stdout and
 * stderr come back; arguments arrive verbatim (quotes, $(...), globs and
 * double spaces are not interpreted by anything on the way: no shell on the
 * host, the guest's sh only sees them as "$@"); a program killed by a signal
 * reports it; the deadline is ATP_QGA_EXEC_DEADLINE; a domain whose guest
 * agent does not answer (no guest OS) is ATP_LIBVIRT_AGENT_UNAVAILABLE; an unknown domain is 404.
 * `atp-host command exec` (which shares targets/guest-exec.ts) still prints
 * the same JSON and exits with the program's code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { buildDomainXml } from '../src/vm/libvirt/index.js';
import { qgaPing } from '../src/vm/qga/index.js';
import { defineLabDomain, type E2eDomain } from '../../test/support/e2e-libvirt.js';
import { removeDomain, testDomainName } from './support/libvirtd.js';
import { errorOf, explain, startApiRig, type ApiRig } from './api-areas-support.js';

/** A TCG boot on a shared 2-core machine, up to qemu-ga answering. */
const BOOT_MS = 300_000;
const CALL_MS = 120_000;
const agentless = testDomainName('atp-api-noga');
let vm: E2eDomain | undefined;
let rig: ApiRig;
let dir = '';

const up = (): E2eDomain => {
  if (vm === undefined) throw new Error('the lab domain did not start (see beforeAll)');
  return vm;
};

async function exec(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const a = await rig.call('POST', '/api/v1/command/exec', { body: { vm: up().name, ...body } });
  return { status: a.status, json: (a.json ?? {}) as Record<string, unknown>, text: a.text };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-api-exec-'));
  vm = await defineLabDomain();
  const qga = vm.client.qgaExecutor(vm.name);
  const deadline = Date.now() + BOOT_MS;
  for (;;) {
    try {
      await qgaPing(qga, { timeoutMs: 2000 });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the guest's qemu-ga did not answer within ${BOOT_MS / 1000} s; console:\n${await vm.console()}`, { cause: error });
      await sleep(500);
    }
  }
  // The qemu-ga channel is there, but nothing inside answers (SeaBIOS with nothing to boot).
  await vm.client.create(buildDomainXml({ name: agentless }), { timeoutMs: 60_000 });
  rig = await startApiRig({ configDir: path.join(dir, 'config') });
}, 600_000 + BOOT_MS);

afterAll(async () => {
  await rig?.close();
  await removeDomain(agentless);
  await vm?.remove();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('POST /api/v1/command/exec', () => {
  it("returns the program's exit code, stdout and stderr", async () => {
    const r = await exec({ command: '/bin/sh', args: ['-c', 'echo hi; echo err >&2; exit 7'] });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ vm: up().name, pid: expect.any(Number), exitCode: 7, signal: null, stdout: 'hi\n', stderr: 'err\n', stdoutTruncated: false, stderrTruncated: false });
  }, CALL_MS);

  it('passes arguments verbatim: nothing on the way interprets them', async () => {
    const marker = `/tmp/atp-api-pwned-${process.pid}`;
    const args = [`it's`, `$(touch ${marker})`, `\`touch ${marker}\``, 'two  words', '*', `a;touch ${marker}`, '"dq" \\ $HOME', ''];
    const r = await exec({ command: '/bin/sh', args: ['-c', 'printf "%s|" "$@"', 'sh', ...args] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.stdout).toBe(`${args.join('|')}|`);
    const test = await exec({ command: '/bin/sh', args: ['-c', `test -e ${marker}`] });
    expect(test.json.exitCode).toBe(1);
  }, CALL_MS);

  it('a program ended by a signal: exitCode null and the signal', async () => {
    const r = await exec({ command: '/bin/sh', args: ['-c', 'kill -9 $$'] });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ exitCode: null, signal: 9 });
  }, CALL_MS);

  it('a program still running at timeoutMs: 502 ATP_QGA_EXEC_DEADLINE', async () => {
    const r = await exec({ command: '/bin/sleep', args: ['30'], timeoutMs: 1000 });
    expect(r.status, r.text).toBe(502);
    expect(r.json).toMatchObject({ error: { code: 'ATP_QGA_EXEC_DEADLINE', details: { path: '/bin/sleep', deadlineMs: 1000 } } });
  }, CALL_MS);

  it('a domain whose guest agent does not answer: 502 ATP_LIBVIRT_AGENT_UNAVAILABLE naming it; an unknown domain: 404', async () => {
    const none = await rig.call('POST', '/api/v1/command/exec', { body: { vm: agentless, command: '/bin/true' } });
    expect(none.status, explain(none)).toBe(502);
    expect(errorOf(none)).toMatchObject({ code: 'ATP_LIBVIRT_AGENT_UNAVAILABLE', details: { domain: agentless } });
    const ghost = await rig.call('POST', '/api/v1/command/exec', { body: { vm: 'atp-no-such-domain', command: '/bin/true' } });
    expect(ghost.status, explain(ghost)).toBe(404);
    expect(errorOf(ghost).code).toBe('ATP_LIBVIRT_DOMAIN_NOT_FOUND');
  }, CALL_MS);

  it('atp-host command exec (the same guest-exec path) prints the same JSON and exits with the code', async () => {
    let out = '';
    const code = await runCli(['command', 'exec', '--vm', up().name, '--config-dir', path.join(dir, 'config'), '--json', '--', '/bin/sh', '-c', 'echo cli; exit 5'], { out: (t) => void (out += t), err: () => undefined });
    expect(code).toBe(5);
    expect(JSON.parse(out)).toEqual({ vm: up().name, pid: expect.any(Number), exitCode: 5, signal: null, stdout: 'cli\n', stderr: '', stdoutTruncated: false, stderrTruncated: false });
    for (const line of rig.lines) expect(line).not.toContain(rig.token);
  }, CALL_MS);
});
