/**
 * Fault matrix, the hub's journal disk full: three real lab VMs run together by
 * the run engine (two rounds each); fh-a's hub keeps its events in a journal
 * (JournalEventStore) on a 1 MiB tmpfs mounted for this file (we run as root),
 * the other two hubs in memory, as every shipped command's hub does today. At
 * the start of fh-a's round 2 the tmpfs is filled to ENOSPC. Asserted: what ATP
 * reports for fh-a, the time until it does (bounded), round 1 kept in the
 * report and its events kept in the journal, the other VMs passing. The tmpfs
 * is unmounted afterwards.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JournalEventStore } from '../host/src/hub/index.js';
import type { E2eLab } from './support/e2e-lab.js';
import { qemuProcessesFor, startE2eLab } from './support/e2e-lab.js';
import { expectIsolated, faultRow, printFaultTable, runFaultCase, startFaultLabs, startLabWithStore, warmUp, type FaultRow } from './support/fault-matrix.js';

const LABELS = ['fh-a', 'fh-b', 'fh-c'];
const mountDir = mkdtempSync(path.join(os.tmpdir(), 'atp-fm-journal-'));
let mounted = false;
const store = new JournalEventStore({ dir: path.join(mountDir, 'journal') });
let labs: Map<string, E2eLab> | undefined;
const rows: FaultRow[] = [];

beforeAll(async () => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'atp-fm-journal', mountDir]);
  mounted = true;
  labs = await startFaultLabs(LABELS, (label) => (label === 'fh-a' ? startLabWithStore(store) : startE2eLab()));
  await warmUp(labs);
}, 600_000);

afterAll(async () => {
  printFaultTable('hub journal disk', rows);
  for (const lab of labs?.values() ?? []) {
    await lab.stop().catch(() => undefined);
    for (const pid of qemuProcessesFor(lab.stateDir)) process.kill(pid, 'SIGKILL');
  }
  if (mounted) execFileSync('umount', [mountDir]);
  rmSync(mountDir, { recursive: true, force: true });
}, 120_000);

/** Fills the file system of `dir` until it refuses a write (ENOSPC); the bytes written. */
function fillDisk(dir: string): number {
  const fd = openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOSPC')) throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

describe('hub journal disk full', () => {
  it("fh-a's hub journal fills up (1 MiB tmpfs): fh-a's suite ends in error ATP_HUB_STORE within 10 s, round 1 kept", async () => {
    const journalFile = store.fileFor(labs?.get('fh-a')?.target.agentId ?? 'fh-a');
    let filled = 0;
    const r = await runFaultCase({
      labs: labs ?? new Map(),
      faulted: 'fh-a',
      fault: async () => {
        filled = fillDisk(mountDir);
      },
    });
    rows.push(faultRow('hub journal disk full (1 MiB tmpfs)', r));
    const lines = readFileSync(journalFile, 'utf8').split('\n').filter((l) => l !== '').length;
    console.log(`[fault-matrix] filler ${filled} bytes; fh-a's journal kept ${lines} lines`);
    expectIsolated(r, 'fh-a');
    const r2 = r.faultedRounds.find((s) => s.round === 2);
    expect(r2?.verdict).toBe('error');
    expect(r2?.error?.code).toBe('ATP_HUB_STORE');
    expect(r2?.error?.message).toMatch(/ENOSPC/);
    // The observation asks the hub every 250 ms; the next event after the fill fails to be stored.
    expect(r.suiteReportMs).toBeLessThan(10_000);
    // The warm-up's and round 1's events were committed before the fault (88 key transitions a round, one line each).
    expect(lines).toBeGreaterThanOrEqual(2 * 88);
  }, 300_000);
});
