/**
 * JUnit XML: the document is parsed back by a small strict XML 1.0 reader below
 * (no XML parser is installed; this one rejects anything not well-formed:
 * unbalanced tags, raw < or & in text, unquoted or duplicate attributes, bad
 * references, forbidden characters), then its structure is asserted. Also the
 * escaping helpers on their own, and writing the file.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJunitXml, writeJunitReport, WHOLE_RUN_TESTCASE } from '../src/report/index.js';
import { escapeAttr, escapeText } from '../src/report/xml.js';
import { failingSuite, NASTY, parseXmlStrict, passingSuite, sampleReport, type XNode } from './report-fixture.js';

const kids = (n: XNode, name: string): XNode[] => n.children.filter((c): c is XNode => typeof c !== 'string' && c.name === name);
const textOf = (n: XNode | undefined): string => (n?.children.filter((c): c is string => typeof c === 'string').join('') ?? '');

describe('the strict XML reader used here', () => {
  it('rejects what is not well-formed', () => {
    for (const bad of ['<a>', '<a></b>', '<a x=1/>', '<a x="1" x="2"/>', '<a>&</a>', '<a>&nope;</a>', '<a>1 < 2</a>', '<a/><b/>', '<a>\u0001</a>', '<a x="<"/>']) {
      expect(() => parseXmlStrict(bad), bad).toThrow();
    }
    expect(parseXmlStrict('<a x="&lt;&#10;"><b/>t&amp;</a>')).toEqual({ name: 'a', attrs: { x: '<\n' }, children: [{ name: 'b', attrs: {}, children: [] }, 't&'] });
  });
});

describe('escaping', () => {
  it('escapes markup in text and attributes, and makes forbidden characters visible', () => {
    expect(escapeText('a<b>&c "d"')).toBe('a&lt;b&gt;&amp;c "d"');
    expect(escapeAttr(`<>&"'\t\n\r`)).toBe('&lt;&gt;&amp;&quot;&apos;&#9;&#10;&#13;');
    expect(escapeText('x\u0000y\u001bz\uD800!')).toBe('x\\u0000y\\u001bz\\ud800!');
    expect(escapeText('emoji 😀 ok')).toBe('emoji 😀 ok');
  });
});

describe('toJunitXml', () => {
  const report = sampleReport();
  const labels = [undefined, ['type "a"', 'b', 'c', 'press e', 'd', 'e', 'f', 'g', 'h', 'i'], undefined];
  const root = parseXmlStrict(toJunitXml(report, { stepLabels: labels }));
  const [pass, fail, error] = kids(root, 'testsuite');

  it('is well-formed, with totals on the root', () => {
    expect(root.name).toBe('testsuites');
    expect(root.attrs).toMatchObject({ name: 'atp', failures: '3', errors: '1', skipped: '0', time: '80.500', timestamp: '2025-01-02T03:04:05.000Z' });
    expect(kids(root, 'testsuite')).toHaveLength(3);
    expect(Number(root.attrs['tests'])).toBe(kids(root, 'testsuite').reduce((n, s) => n + Number(s.attrs['tests']), 0));
  });

  it('a passing suite: one whole-run testcase with figures and notes, no failure', () => {
    expect(pass?.attrs).toMatchObject({ name: 'smoke', tests: '1', failures: '0', errors: '0', time: '12.345', file: 'scenarios/smoke.yaml' });
    const props = Object.fromEntries(kids(kids(pass as XNode, 'properties')[0] as XNode, 'property').map((p) => [p.attrs['name'], p.attrs['value']]));
    expect(props).toMatchObject({ 'atp.verdict': 'pass', 'atp.target.vm': 'lab', 'atp.count.expected': '400', 'atp.count.missing': '0', 'atp.latency.p95Ms': '11.84', 'atp.pointer.maxErrorPx': '1' });
    const [only] = kids(pass as XNode, 'testcase');
    expect(only?.attrs).toMatchObject({ name: WHOLE_RUN_TESTCASE, classname: 'smoke', time: '12.345' });
    expect(kids(only as XNode, 'failure')).toEqual([]);
    const out = textOf(kids(only as XNode, 'system-out')[0]);
    expect(out).toContain('latency: n=400 p50 3.7 ms p95 11.8 ms p99 15.0 ms');
    expect(out).toContain('±0.40 ms');
    expect(out).toContain('note: clock offset uncertain');
  });

  it('a failing suite: every labelled step a testcase, failures carry that step’s findings', () => {
    const cases = kids(fail as XNode, 'testcase');
    expect(fail?.attrs).toMatchObject({ name: 'layout <de> & "more"', tests: '11', failures: '3', errors: '0' });
    expect(cases.map((c) => c.attrs['name'])).toEqual([...(labels[1] ?? []).map((l, i) => `steps[${i}] ${l}`), WHOLE_RUN_TESTCASE]);
    const step3 = kids(cases[3] as XNode, 'failure')[0];
    expect(step3?.attrs['type']).toBe('duplicate,wrongKey');
    expect(step3?.attrs['message']).toBe('step 3: KEY_E pressed twice (seq 41, 43): doubled character (and 1 more)');
    expect(textOf(step3).split('\n')).toEqual(['step 3: KEY_E pressed twice (seq 41, 43): doubled character', 'step 3: expected KEY_Z, got KEY_Y (seq 50) — layout mismatch?']);
    const step7 = kids(cases[7] as XNode, 'failure')[0];
    expect(step7?.attrs['message']).toBe(`step 7: ${NASTY.replace('\u001b', '\\u001b')}`);
    expect(kids(cases[0] as XNode, 'failure')).toEqual([]);
    const whole = kids(cases[10] as XNode, 'failure')[0];
    expect(whole?.attrs).toMatchObject({ type: 'stuck', message: 'KEY_LEFTSHIFT still held at the end (down at seq 99)' });
  });

  it('without labels only the steps with findings are testcases', () => {
    const doc = parseXmlStrict(toJunitXml(sampleReport([failingSuite()])));
    const names = kids(kids(doc, 'testsuite')[0] as XNode, 'testcase').map((c) => c.attrs['name']);
    expect(names).toEqual(['steps[3]', 'steps[7]', WHOLE_RUN_TESTCASE]);
  });

  it('a suite that could not run: an <error> with its code', () => {
    expect(error?.attrs).toMatchObject({ name: 'stress', errors: '1', failures: '0' });
    const e = kids(kids(error as XNode, 'testcase')[0] as XNode, 'error')[0];
    expect(e?.attrs).toMatchObject({ type: 'ATP_QMP_DISCONNECTED', message: 'ATP_QMP_DISCONNECTED: QMP closed while input-send-event was in flight' });
  });

  it('a failed suite with no findings still fails in JUnit', () => {
    const doc = parseXmlStrict(toJunitXml(sampleReport([{ ...passingSuite(), verdict: 'fail', findings: [] }])));
    expect(kids(doc, 'testsuite')[0]?.attrs['failures']).toBe('1');
  });
});

describe('writeJunitReport', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atp-report-junit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the document, creating folders, leaving no temp file', async () => {
    const file = join(dir, 'out', 'junit.xml');
    await writeJunitReport(sampleReport(), file);
    expect(parseXmlStrict(await readFile(file, 'utf8')).name).toBe('testsuites');
    expect(await readdir(join(dir, 'out'))).toEqual(['junit.xml']);
  });
});
