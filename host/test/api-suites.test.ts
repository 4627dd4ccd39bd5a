/**
 * /api/v1/suites against a real server: the list of the repository's
 * scenarios/ equals `atp-host scenario list --json` of it; configured suite
 * directories are listed file by file (a broken file with its error, a v2
 * suite, a subfolder left out); validate takes inline YAML (messages name
 * the given name, issues carry line:column) or a path inside the suite
 * directories (relative or absolute), and refuses paths outside them, also
 * through a symbolic link, and non-suite files; `layout` checks text on that
 * layout; an unknown layout is 400.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { errorOf, explain, startApiRig, type ApiRig } from './api-areas-support.js';

const SCENARIOS = fileURLToPath(new URL('../../scenarios/', import.meta.url));
const GOOD = ['version: 1', 'name: good', 'target: { vm: lab }', 'observer: { kind: web, id: page1 }', 'steps:', '  - type: "hey"', '  - repeat:', '      times: 3', '      steps:', '        - click: left', '          count: 2', '        - drag: { from: { x: 1, y: 1 }, to: { x: 5, y: 5 } }'];
const KEY_BROKEN = ['version: 1', 'target: { vm: lab }', 'observer: agent', 'name: keys', 'steps:', '  - press: ctrl+a', '  - press: [shift+b, ctrl+bogus]'];

let root = '';
let suites = '';
let more = '';
let plain: ApiRig;
let configured: ApiRig;

const text = (lines: readonly string[]): string => `${lines.join('\n')}\n`;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'atp-api-suites-'));
  suites = path.join(root, 'suites');
  more = path.join(root, 'more');
  await mkdir(path.join(suites, 'drafts'), { recursive: true });
  await mkdir(more);
  await writeFile(path.join(suites, 'good.yaml'), text(GOOD));
  await writeFile(path.join(suites, 'broken.yml'), text(['version: 1', 'name: broken', 'steps:', '  - press: [a']));
  await writeFile(path.join(suites, 'notes.txt'), 'not a suite');
  await writeFile(path.join(suites, 'drafts', 'draft.yaml'), text(GOOD));
  await writeFile(path.join(more, 'keys.yaml'), text(KEY_BROKEN));
  await writeFile(path.join(root, 'outside.yaml'), text(GOOD));
  await symlink(path.join(root, 'outside.yaml'), path.join(suites, 'escape.yaml'));
  plain = await startApiRig({ configDir: path.join(root, 'config') });
  configured = await startApiRig({ configDir: path.join(root, 'config'), services: new Map([['suiteDirs', [suites, more]]]) });
});

afterAll(async () => {
  await plain?.close();
  await configured?.close();
  if (root !== '') await rm(root, { recursive: true, force: true });
});

describe('GET /api/v1/suites', () => {
  it("lists the repository's scenarios/ by default, exactly as `atp-host scenario list --json` does", async () => {
    const a = await plain.call('GET', '/api/v1/suites');
    expect(a.status, explain(a)).toBe(200);
    let out = '';
    const code = await runCli(['scenario', 'list', SCENARIOS, '--json'], { out: (t) => void (out += t), err: () => undefined });
    expect(code).toBe(0);
    const body = a.json as { dirs: string[]; suites: unknown[] };
    expect(body.dirs).toEqual([path.resolve(SCENARIOS)]);
    expect(body.suites).toEqual(JSON.parse(out));
    expect(body.suites.length).toBeGreaterThanOrEqual(5);
  });

  it('lists the configured directories in order, each sorted, a broken file with its placed error, subfolders and other files left out', async () => {
    const a = await configured.call('GET', '/api/v1/suites');
    expect(a.status, explain(a)).toBe(200);
    const body = a.json as { dirs: string[]; suites: { file: string; ok: boolean; error?: { code: string; line?: number; column?: number } }[] };
    expect(body.dirs).toEqual([suites, more]);
    expect(body.suites.map((s) => [path.relative(root, s.file), s.ok])).toEqual([
      ['suites/broken.yml', false],
      ['suites/escape.yaml', true],
      ['suites/good.yaml', true],
      ['more/keys.yaml', false],
    ]);
    expect(body.suites[0]?.error).toMatchObject({ code: 'ATP_SCENARIO_YAML', line: 5, column: 1 });
    expect(body.suites[2]).toEqual({ file: path.join(suites, 'good.yaml'), ok: true, version: 1, name: 'good', steps: 2, keys: 6, textChars: 3, pointerActions: 9, observer: 'web:page1', layout: 'us' });
  });
});

describe('POST /api/v1/suites/validate', () => {
  it('inline YAML: the counts of a good suite; a bad one with its issues at name:line:column', async () => {
    const ok = await configured.call('POST', '/api/v1/suites/validate', { body: { yaml: text(GOOD), name: 'mine.yaml' } });
    expect(ok.status, explain(ok)).toBe(200);
    expect(ok.json).toEqual({ file: 'mine.yaml', ok: true, version: 1, name: 'good', steps: 2, keys: 6, textChars: 3, pointerActions: 9, observer: 'web:page1', layout: 'us' });

    const bad = await configured.call('POST', '/api/v1/suites/validate', { body: { yaml: text(KEY_BROKEN) } });
    expect(bad.status, explain(bad)).toBe(200);
    expect(bad.json).toEqual({
      file: 'inline.yaml',
      ok: false,
      error: {
        code: 'ATP_SCENARIO_INVALID',
        message: "inline.yaml: invalid scenario (1 problem):\n  inline.yaml:7:22: steps[1].press[1]: Unknown key name 'bogus'",
        line: 7,
        column: 22,
        issues: [{ path: 'steps[1].press[1]', line: 7, column: 22, message: "Unknown key name 'bogus'", code: expect.any(String) }],
      },
    });

    const yaml = await configured.call('POST', '/api/v1/suites/validate', { body: { yaml: 'version: 1\nname: x\nsteps:\n  - press: [a\n', name: 'y.yaml' } });
    const error = (yaml.json as { error: { code: string; message: string; issues: { line: number; column: number }[] } }).error;
    expect(error.code).toBe('ATP_SCENARIO_YAML');
    expect(error.message).toMatch(/^y\.yaml:5:1: YAML syntax error: /);
    expect(error.issues[0]).toMatchObject({ path: '(yaml)', line: 5, column: 1 });

    const plan = await configured.call('POST', '/api/v1/suites/validate', { body: { yaml: text(['version: 1', 'target: { vm: lab }', 'observer: agent', 'name: huge', 'steps:', '  - press: a', '  - repeat:', '      times: 1000', '      steps:', '        - repeat: { times: 1001, steps: [ { wait: 1 } ] }']) } });
    expect((plan.json as { error: unknown }).error).toEqual({
      code: 'ATP_SCENARIO_INVALID',
      message: 'inline.yaml:7:5: steps[1]: suite huge expands to more than 1000000 actions (check the repeat counts)',
      line: 7,
      column: 5,
      issues: [{ path: 'steps[1]', line: 7, column: 5, message: 'suite huge expands to more than 1000000 actions (check the repeat counts)', code: 'ATP_SCENARIO_INVALID' }],
    });
  });

  it('a layout checks text on it; an unknown layout is 400', async () => {
    const de = text(['version: 1', 'name: de', 'target: { vm: lab, layout: de }', 'observer: agent', 'steps:', '  - type: "y"', '  - type: "Straße"']);
    expect(((await configured.call('POST', '/api/v1/suites/validate', { body: { yaml: de } })).json as { ok: boolean }).ok).toBe(true);
    const us = await configured.call('POST', '/api/v1/suites/validate', { body: { yaml: de, layout: 'us' } });
    const error = (us.json as { error: { message: string; issues: unknown[] } }).error;
    expect(error.message).toContain("inline.yaml:7:11: steps[1].type: Character 'ß' (U+00DF) at index 4 cannot be typed on layout 'us'");
    expect(error.issues).toEqual([expect.objectContaining({ path: 'steps[1].type', line: 7, column: 11 })]);
    const unknown = await configured.call('POST', '/api/v1/suites/validate', { body: { yaml: de, layout: 'xx' } });
    expect(unknown.status, explain(unknown)).toBe(400);
    expect(errorOf(unknown).code).toBe('ATP_INJECT_LAYOUT_UNKNOWN');
  });

  it('a path in the suite directories, relative (first directory that has it) or absolute', async () => {
    const rel = await configured.call('POST', '/api/v1/suites/validate', { body: { path: 'good.yaml' } });
    expect(rel.json).toMatchObject({ file: path.join(suites, 'good.yaml'), ok: true, keys: 6 });
    const second = await configured.call('POST', '/api/v1/suites/validate', { body: { path: 'keys.yaml' } });
    expect(second.json).toMatchObject({ file: path.join(more, 'keys.yaml'), ok: false, error: { code: 'ATP_SCENARIO_INVALID', line: 7, column: 22 } });
    const abs = await configured.call('POST', '/api/v1/suites/validate', { body: { path: path.join(suites, 'drafts', 'draft.yaml') } });
    expect(abs.json).toMatchObject({ file: path.join(suites, 'drafts', 'draft.yaml'), ok: true });
  });

  it('refuses paths outside the suite directories (.., absolute, through a symlink), non-suite files; a missing one is 404', async () => {
    const refused: [string, string][] = [
      ['../outside.yaml', 'not inside the suite directories'],
      [path.join(root, 'outside.yaml'), 'not inside the suite directories'],
      ['/etc/passwd', 'ends in .yaml or .yml'],
      ['notes.txt', 'ends in .yaml or .yml'],
      ['escape.yaml', 'leads outside the suite directories'],
    ];
    for (const [p, why] of refused) {
      const a = await configured.call('POST', '/api/v1/suites/validate', { body: { path: p } });
      expect(a.status, `${p}: ${explain(a)}`).toBe(400);
      expect(errorOf(a)).toMatchObject({ code: 'ATP_SCHEMA_INVALID', details: { field: 'path' } });
      expect(errorOf(a).message).toContain(why);
    }
    const missing = await configured.call('POST', '/api/v1/suites/validate', { body: { path: 'nope.yaml' } });
    expect(missing.status, explain(missing)).toBe(404);
    expect(errorOf(missing)).toMatchObject({ code: 'ATP_API_NOT_FOUND', details: { field: 'path' } });
    const both = await configured.call('POST', '/api/v1/suites/validate', { body: { path: 'good.yaml', yaml: 'x' } });
    expect(both.status).toBe(400);
  });
});
