/**
 * A plain text table for terminals and CI logs: a header row, columns padded
 * to their widest cell (right-aligned where asked), two spaces between
 * columns, no trailing blanks. Every cell goes through `printable`, so a name
 * from a remote system cannot move the cursor or colour the terminal.
 */
import { printable } from './format.js';

export interface TableColumn {
  head: string;
  right?: boolean;
}

export function formatTable(columns: readonly TableColumn[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((r) => columns.map((_, i) => printable(r[i] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.head.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: readonly string[]): string =>
    r.map((cell, i) => (columns[i]?.right === true ? cell.padStart(widths[i] ?? 0) : i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return `${[line(columns.map((c) => c.head)), ...cells.map(line)].join('\n')}\n`;
}
