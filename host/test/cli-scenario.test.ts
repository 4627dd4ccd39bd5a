/**
 * `atp-host scenario list|validate`: the real scenarios/ and hand-written broken
 * suites in a temp dir, run in-process through runCli (one run spawns the
 * binary to check the default DIR and the process exit code).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../src/cli/program.js';
import { blockSuite, loadAnySuite, planSuite } from '../src/scenario/index.js';

const SCENARIOS = fileURLToPath(new URL('../../scenarios/', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-cli-scenario-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await runCli(argv, io);
  return { code, out, err };
}

/** Writes `name` in the temp dir; returns its path. */
async function suite(name: string, lines: readonly string[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

const HEAD = ['version: 1', 'target: { vm: lab }', 'observer: agent'];
const good = (name: string): Promise<string> => suite(`${name}.yaml`, ['version: 1', `name: ${name}`, 'target: { vm: lab }', 'observer: { kind: web, id: page1 }', 'steps:', '  - type: "hey"', '  - repeat:', '      times: 3', '      steps:', '        - click: left', '          count: 2', '        - drag: { from: { x: 1, y: 1 }, to: { x: 5, y: 5 } }']);
const yamlBroken = (): Promise<string> => suite('yaml.yaml', ['version: 1', 'name: broken', 'steps:', '  - press: [a']);
const schemaBroken = (): Promise<string> => suite('schema.yml', [...HEAD, 'name: schema', 'steps:', '  - click: left', '    colour: red']);
const keyBroken = (): Promise<string> => suite('key.yaml', [...HEAD, 'name: keys', 'steps:', '  - press: ctrl+a', '  - press: [shift+b, ctrl+bogus]']);
const charBroken = (): Promise<string> => suite('char.yaml', ['version: 1', 'name: chars', 'target: { vm: lab, layout: fr }', 'observer: agent', 'steps:', '  - type: abc', '  - type: "a字"']);

async function plans(files: readonly string[]): Promise<{ file: string; name: string; steps: number; keys: number }[]> {
  return Promise.all(files.map(async (file) => {
    const loaded = await loadAnySuite(file);
    if (loaded.version === 2) {
      // A v2 suite: its top-level steps, and the key transitions of all its input blocks.
      const keys = loaded.blocks.reduce((n, b) => n + planSuite(blockSuite(loaded, b).scenario).keyTransitions, 0);
      return { file, name: loaded.scenario.name, steps: loaded.scenario.steps.length, keys };
    }
    const plan = planSuite(loaded.scenario);
    return { file, name: loaded.scenario.name, steps: plan.steps, keys: plan.keyTransitions };
  }));
}

describe('atp-host scenario list', () => {
  it('lists every suite in scenarios/ with the counts of its plan', async () => {
    const files = (await readdir(SCENARIOS)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(SCENARIOS, f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    const json = await cli('scenario', 'list', SCENARIOS, '--json');
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.out) as { file: string; ok: boolean; name: string; steps: number; keys: number; observer: string; layout: string }[];
    expect(listed.map(({ file, name, steps, keys }) => ({ file, name, steps, keys }))).toEqual(await plans(files));
    expect(listed.every((s) => s.ok && s.observer === 'agent' && s.layout === 'us')).toBe(true);
    const table = await cli('scenario', 'list', SCENARIOS);
    expect(table.code).toBe(0);
    const [head, ...rows] = table.out.trimEnd().split('\n');
    expect(head?.split(/\s{2,}/)).toEqual(['FILE', 'SUITE', 'STEPS', 'KEY TRANSITIONS', 'TEXT CHARS', 'POINTER ACTIONS', 'OBSERVER', 'LAYOUT']);
    expect(rows.map((r) => r.split(/\s+/))).toEqual(listed.map((s) => [s.file, s.name, String(s.steps), String(s.keys), expect.any(String), expect.any(String), 'agent', 'us']));
  });

  it('counts text characters and pointer actions with repeats expanded', async () => {
    const file = await good('good');
    const r = await cli('scenario', 'list', dir, '--json');
    expect(r.code).toBe(0);
    // "hey" = 3 characters, 6 key transitions; 3 × (click ×2 + drag) = 9 pointer actions.
    expect(JSON.parse(r.out)).toEqual([{ file, ok: true, version: 1, name: 'good', steps: 2, keys: 6, textChars: 3, pointerActions: 9, observer: 'web:page1', layout: 'us' }]);
  });

  it('lists a broken file with its error, still lists the others, and exits 2', async () => {
    const a = await good('a');
    const broken = await yamlBroken();
    const z = await good('z');
    await writeFile(path.join(dir, 'notes.txt'), 'not a suite');
    const r = await cli('scenario', 'list', dir);
    expect(r.code).toBe(2);
    const lines = r.out.split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['FILE', a, broken, '', z, '']);
    expect(lines[2]).toMatch(/ ATP_SCENARIO_YAML$/);
    expect(lines[3]).toMatch(new RegExp(`^  ${broken}:5:1: YAML syntax error: `));
    expect(lines[4]?.split(/\s+/)).toEqual([z, 'z', '2', '6', '3', '9', 'web:page1', 'us']);
    const json = JSON.parse((await cli('scenario', 'list', dir, '--json')).out) as { file: string; ok: boolean; error?: unknown }[];
    expect(json.map((s) => [s.file, s.ok])).toEqual([[a, true], [broken, false], [z, true]]);
    expect(json[1]?.error).toEqual({ code: 'ATP_SCENARIO_YAML', message: expect.stringContaining(`${broken}:5:1:`), line: 5, column: 1 });
  });

  it('lists only the top of the default ./scenarios, and the binary exits with the code', async () => {
    await mkdir(path.join(dir, 'scenarios', 'drafts'), { recursive: true });
    await writeFile(path.join(dir, 'scenarios', 'one.yml'), ['version: 1', 'name: one', ...HEAD.slice(1), 'steps:', '  - press: a'].join('\n'));
    await writeFile(path.join(dir, 'scenarios', 'drafts', 'two.yaml'), 'not: [valid');
    const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
    // tsx by absolute URL: the child's cwd is the temp dir, where a bare 'tsx' does not resolve.
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', tsx, main, 'scenario', 'list'], { cwd: dir, timeout: 60_000 }, (_e, stdout) => resolve({ code: child.exitCode, stdout }));
    });
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/))).toEqual([[path.join('scenarios', 'one.yml'), 'one', '1', '2', '0', '0', 'agent', 'us']]);
  });

  it('a missing directory is ATP_SCENARIO_READ, exit 2', async () => {
    const r = await cli('scenario', 'list', path.join(dir, 'nope'));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`atp-host: ATP_SCENARIO_READ: ${path.join(dir, 'nope')}: cannot list suite files: no such directory\n`);
  });
});

describe('atp-host scenario validate', () => {
  it('prints ok with steps and key transitions for good files, exit 0', async () => {
    const files = [path.join(SCENARIOS, 'smoke.yaml'), path.join(SCENARIOS, 'stress.yaml'), await good('good')];
    const r = await cli('scenario', 'validate', ...files);
    expect(r).toEqual({ code: 0, out: (await plans(files)).map((p) => `ok ${p.file}: ${p.steps} steps, ${p.keys} key transitions\n`).join(''), err: '' });
  });

  it.each([
    ['a YAML syntax error', yamlBroken, 'ATP_SCENARIO_YAML', (f: string) => `${f}:5:1: YAML syntax error: `],
    ['a schema error', schemaBroken, 'ATP_SCENARIO_INVALID', (f: string) => `${f}:7:5: steps[0].colour: unknown option for a click step`],
    ['an unknown key name', keyBroken, 'ATP_SCENARIO_INVALID', (f: string) => `${f}:7:22: steps[1].press[1]: Unknown key name 'bogus'`],
    ['a character the layout cannot type', charBroken, 'ATP_SCENARIO_INVALID', (f: string) => `${f}:7:11: steps[1].type: Character '字' (U+5B57) at index 1 cannot be typed on layout 'fr'`],
  ])('%s: exit 2, the code and file:line:column', async (_what, make, code, where) => {
    const file = await make();
    const r = await cli('scenario', 'validate', file);
    expect(r.code).toBe(2);
    expect(r.out.startsWith(`error ${file}: ${code}\n`)).toBe(true);
    expect(r.out).toContain(where(file));
    expect(r.err).toBe('1 of 1 suite file is invalid\n');
  });

  it('checks every file before exiting 2', async () => {
    const files = [await keyBroken(), await good('good'), await schemaBroken()];
    const r = await cli('scenario', 'validate', ...files);
    expect(r.code).toBe(2);
    expect(r.out.split('\n').filter((l) => !l.startsWith(' '))).toEqual([`error ${files[0]}: ATP_SCENARIO_INVALID`, `ok ${files[1]}: 2 steps, 6 key transitions`, `error ${files[2]}: ATP_SCENARIO_INVALID`, '']);
    expect(r.err).toBe('2 of 3 suite files are invalid\n');
  });

  it('--layout checks text on that layout and places the problem', async () => {
    const file = await suite('de.yaml', ['version: 1', 'name: de', 'target: { vm: lab, layout: de }', 'observer: agent', 'steps:', '  - type: "y"', '  - type: "Straße"']);
    expect((await cli('scenario', 'validate', file)).code).toBe(0);
    const r = await cli('scenario', 'validate', '--layout', 'us', file);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`${file}:7:11: steps[1].type: Character 'ß' (U+00DF) at index 4 cannot be typed on layout 'us'`);
    const unknown = await cli('scenario', 'validate', '--layout', 'xx', file);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('ATP_INJECT_LAYOUT_UNKNOWN');
  });

  it('a plan error names the file and the line:column of its step', async () => {
    const file = await suite('huge.yaml', [...HEAD, 'name: huge', 'steps:', '  - press: a', '  - repeat:', '      times: 1000', '      steps:', '        - repeat: { times: 1001, steps: [ { wait: 1 } ] }']);
    const r = await cli('scenario', 'validate', file, '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual([{ file, ok: false, error: { code: 'ATP_SCENARIO_INVALID', message: `${file}:7:5: steps[1]: suite huge expands to more than 1000000 actions (check the repeat counts)`, line: 7, column: 5 } }]);
  });

  it('--json prints [{ file, ok, steps, keys }] and [{ file, ok, error }]', async () => {
    const ok = await good('good');
    const bad = await keyBroken();
    const r = await cli('scenario', 'validate', '--json', ok, bad);
    expect(r.code).toBe(2);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual([
      { file: ok, ok: true, version: 1, steps: 2, keys: 6 },
      { file: bad, ok: false, error: { code: 'ATP_SCENARIO_INVALID', message: `${bad}: invalid scenario (1 problem):\n  ${bad}:7:22: steps[1].press[1]: Unknown key name 'bogus'`, line: 7, column: 22 } },
    ]);
  });

  it('no file given is a usage error, exit 2', async () => {
    const r = await cli('scenario', 'validate');
    expect(r.code).toBe(2);
    expect(r.err).toContain('ATP_SCHEMA_INVALID: no suite file given');
  });
});
