/** Runs `atp-host …` in this process through runCli, capturing stdout and stderr. */
import { runCli, type CliIo } from '../../src/cli/program.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function atpHost(...argv: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await runCli(argv, io);
  return { code, out, err };
}

/** Parses a command's --json stdout, naming the command when it is not JSON. */
export function jsonOf<T>(run: CliRun): T {
  try {
    return JSON.parse(run.out) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.out}\nstderr:\n${run.err}`);
  }
}

/**
 * A formatTable table read back: columns are the runs of text positions
 * separated by at least two positions that are blank on every line (the header
 * is never blank, so an empty cell stays an empty string in its column).
 */
export function tableOf(text: string): { head: string[]; rows: string[][] } {
  const lines = text.replace(/\n+$/, '').split('\n');
  const width = Math.max(...lines.map((l) => l.length));
  const used = Array.from({ length: width }, (_, i) => lines.some((l) => (l[i] ?? ' ') !== ' '));
  const spans: [number, number][] = [];
  for (let i = 0; i < width; ) {
    if (!used[i]) {
      i++;
      continue;
    }
    const start = i;
    let end = i;
    // A column goes on across single blank positions ("RUNNING VMS", "Alice A").
    while (i < width && (used[i] || (used[i + 1] === true && used[i - 1] === true))) {
      if (used[i]) end = i + 1;
      i++;
    }
    spans.push([start, end]);
  }
  const cells = (l: string): string[] => spans.map(([s, e]) => l.slice(s, e).trim());
  const [head = '', ...rows] = lines;
  return { head: cells(head), rows: rows.map(cells) };
}
