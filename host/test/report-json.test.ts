/**
 * The run report as JSON: built and validated by buildReport, written
 * atomically, read back through parseReport unchanged; malformed suite reports
 * and unwritable paths fail with typed errors.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError, parseReport } from '@atp/protocol';
import { buildReport, toJsonReport, writeJsonReport } from '../src/report/index.js';
import { failingSuite, passingSuite, sampleReport } from './report-fixture.js';

describe('buildReport', () => {
  it('fills the run metadata and keeps suites as given', () => {
    const report = sampleReport();
    expect(report.version).toBe(1);
    expect(report.tool).toEqual({ name: 'atp', version: '0.1.0' });
    expect(report.startedAt).toBe('2025-01-02T03:04:05.000Z');
    expect(report.finishedAt).toBe('2025-01-02T03:05:25.500Z');
    expect(report.suites.map((s) => s.verdict)).toEqual(['pass', 'fail', 'error']);
  });

  it('refuses a malformed suite report, naming the field', () => {
    const bad = { ...failingSuite(), counts: { ...failingSuite().counts, missing: -1 } };
    let caught: unknown;
    try {
      buildReport([passingSuite(), bad], { startedAt: new Date(0), finishedAt: new Date(1), version: '0.1.0' });
    } catch (error) {
      caught = error;
    }
    expect(isAtpError(caught, 'ATP_SCHEMA_INVALID')).toBe(true);
    expect((caught as Error).message).toContain('suites[1].counts.missing');
  });

  it('refuses a bad timestamp string', () => {
    expect(() => buildReport([], { startedAt: 'yesterday', finishedAt: new Date(), version: '1' })).toThrow(/startedAt/);
  });
});

describe('writeJsonReport', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atp-report-json-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips through parseReport', async () => {
    const report = sampleReport();
    const file = join(dir, 'nested', 'report.json');
    await writeJsonReport(report, file);
    const text = await readFile(file, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseReport(JSON.parse(text) as unknown, file)).toEqual(report);
    expect(text).toBe(toJsonReport(report));
    expect(await readdir(join(dir, 'nested'))).toEqual(['report.json']);
  });

  it('replaces an existing file', async () => {
    const file = join(dir, 'replace.json');
    await writeFile(file, 'old');
    await writeJsonReport(sampleReport([passingSuite()]), file);
    expect(parseReport(JSON.parse(await readFile(file, 'utf8')) as unknown).suites).toHaveLength(1);
  });

  it('an unwritable path is ATP_REPORT_WRITE naming the file', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    const file = join(blocker, 'report.json');
    await expect(writeJsonReport(sampleReport(), file)).rejects.toMatchObject({ code: 'ATP_REPORT_WRITE', message: expect.stringContaining(file) as unknown });
  });
});
