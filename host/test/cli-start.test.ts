/**
 * What `atp-host` loads before a command runs. `--help`, `--version` and the
 * parsing of every command load only the command definitions (commander and
 * host/src/cli files); an action loads its machinery when it runs
 * (program.ts says how). Each case spawns the real binary (main.ts through
 * tsx) with a module hook that records every module the process loaded, and
 * checks the list, not the time: a definition that imports the lab, the hub,
 * fastify, ssh2, better-sqlite3 or @atp/protocol fails here on any machine.
 * Also: the help texts that spell out a list the machinery owns (defaults.ts)
 * agree with it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_STATUSES } from '@atp/protocol';
import { DEFAULT_SIMULATE_HOST, RUN_STATUS_NAMES, VDI_POOL_TYPE_WORDS, VDI_VM_STATUS_WORDS } from '../src/cli/defaults.js';
import { DEFAULT_SIM_HOST } from '../src/vdi-sim/index.js';
import { POOL_TYPE } from '../src/vdi/index.js';
import { DOMAIN_STATUS_NAMES } from '../src/vdi/status-names.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(REPO, 'host/src/cli/main.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Records the URL of every module loaded (ESM and CommonJS entries alike) into $ATP_TRACE_FILE at exit. */
const TRACER = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = new Set();
registerHooks({ load(url, context, next) { seen.add(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.ATP_TRACE_FILE, JSON.stringify([...seen])));
`)}`;

/** Packages that are the machinery, never needed to parse a command line. */
const HEAVY_PACKAGES = ['fastify', '@fastify/static', 'ssh2', 'better-sqlite3', 'playwright-core', 'ws', 'des.js', 'swagger-ui-dist'];

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-cli-start-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Traced {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Loaded files under the repository, relative to it (node_modules paths included). */
  files: string[];
  /** npm packages loaded (their names). */
  packages: Set<string>;
}

let runs = 0;
/** Runs `node --import tsx --import TRACER main.ts ...args` and returns what it printed and loaded. */
async function traced(args: readonly string[], script = MAIN): Promise<Traced> {
  const traceFile = path.join(scratch, `trace-${++runs}.json`);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['--import', TSX, '--import', TRACER, script, ...args], { cwd: REPO, env: { ...process.env, ATP_TRACE_FILE: traceFile }, timeout: 60_000 }, (_e, out, err) =>
      resolve({ code: child.exitCode, stdout: out, stderr: err }),
    );
  });
  const urls = JSON.parse(await readFile(traceFile, 'utf8')) as string[];
  const files = urls.filter((u) => u.startsWith('file:')).map((u) => path.relative(REPO, fileURLToPath(u)));
  const packages = new Set(files.flatMap((f) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1] ?? []));
  // @atp/protocol is a workspace: node_modules/@atp/protocol links to protocol-schemas/.
  if (files.some((f) => f.startsWith('protocol-schemas/'))) packages.add('@atp/protocol');
  return { code, stdout, stderr, files, packages };
}

const hostFilesOutsideCli = (t: Traced): string[] => t.files.filter((f) => f.startsWith('host/') && !f.startsWith('host/src/cli/'));

describe('atp-host start-up loads only what the command needs', () => {
  it('the tracer sees the machinery when it is loaded (serve.ts brings fastify, the hub and @atp/protocol)', async () => {
    const probe = path.join(scratch, 'probe.mts');
    await writeFile(probe, `await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'host/src/cli/serve.ts')).href)});\n`);
    const t = await traced([], probe);
    expect(t.code).toBe(0);
    for (const name of ['fastify', 'ws', 'better-sqlite3', '@atp/protocol', 'zod']) expect([...t.packages], name).toContain(name);
    expect(hostFilesOutsideCli(t)).toContain('host/src/hub/hub.ts');
  });

  it('--help loads commander and the command definitions, nothing else', async () => {
    const t = await traced(['--help']);
    expect(t.code, t.stderr).toBe(0);
    for (const name of ['verify', 'scenario', 'lab', 'serve', 'vdi', 'runs']) expect(t.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect([...t.packages]).toEqual(['commander']);
    expect(hostFilesOutsideCli(t)).toEqual([]);
  });

  it('--version prints host/package.json version and loads no more than --help', async () => {
    const t = await traced(['--version']);
    const pkg = JSON.parse(await readFile(path.join(REPO, 'host/package.json'), 'utf8')) as { version: string };
    expect({ code: t.code, stdout: t.stdout }).toEqual({ code: 0, stdout: `${pkg.version}\n` });
    expect([...t.packages]).toEqual(['commander']);
    expect(hostFilesOutsideCli(t)).toEqual([]);
  });

  it.each(['verify', 'serve', 'vdi vm start', 'runs export', 'lab up', 'vm clone', 'interactive', 'scenario validate', 'calibrate'])('%s --help loads nothing beyond the definitions', async (line) => {
    const command = line.split(' ');
    const t = await traced([...command, '--help']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain(`Usage: atp-host ${command.join(' ')}`);
    expect([...t.packages]).toEqual(['commander']);
    expect(hostFilesOutsideCli(t)).toEqual([]);
  });

  it('a usage error that commander finds (unknown option) loads nothing beyond the definitions either', async () => {
    const t = await traced(['verify', '--no-such-flag']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("unknown option '--no-such-flag'");
    expect([...t.packages]).toEqual(['commander']);
  });

  it('scenario validate loads the suite checks, not the machinery that runs suites', async () => {
    const t = await traced(['scenario', 'validate', 'scenarios/smoke.yaml']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^ok scenarios\/smoke\.yaml: \d+ steps, \d+ key transitions\n$/);
    for (const name of HEAVY_PACKAGES) expect([...t.packages], name).not.toContain(name);
    const folders = new Set(hostFilesOutsideCli(t).map((f) => f.split('/').slice(2, 3).join('/')));
    for (const heavy of ['lab', 'hub', 'api', 'run', 'targets', 'vm', 'display', 'history', 'vdi-sim', 'vdi']) expect([...folders], heavy).not.toContain(heavy);
  });

  it("a failing action still names its error and exits with its code (exit-codes.ts loads on that path)", async () => {
    const t = await traced(['scenario', 'validate']);
    expect(t.code).toBe(2);
    expect(t.stderr).toBe('atp-host: ATP_SCHEMA_INVALID: no suite file given (atp-host scenario validate [--layout NAME] [--json] FILE...)\n');
  });
});

describe('lists the help spells out (defaults.ts) agree with the code that checks them', () => {
  it('runs list --status: RUN_STATUSES', () => {
    expect(RUN_STATUS_NAMES).toEqual(RUN_STATUSES);
  });

  it('vdi vms list --status: DOMAIN_STATUS_NAMES; vdi pool create --type: POOL_TYPE', () => {
    expect(VDI_VM_STATUS_WORDS).toEqual(Object.keys(DOMAIN_STATUS_NAMES));
    expect(VDI_POOL_TYPE_WORDS).toEqual(Object.keys(POOL_TYPE));
  });

  it("vdi simulate --host: the simulator's default address", () => {
    expect(DEFAULT_SIMULATE_HOST).toBe(DEFAULT_SIM_HOST);
  });
});
