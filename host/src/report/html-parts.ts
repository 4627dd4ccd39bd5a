/**
 * Building blocks of the HTML report (html.ts): escaping, tables and small
 * labelled values. Every string that reaches the page goes through `text()`
 * (control characters shown escaped as in the terminal summary, then HTML
 * escaped), so a finding message or a VM name holding markup renders as text.
 * Markup built here is passed around as `Raw` ({ html }) so a table cell can
 * only hold escaped text or markup made by these helpers. Pure.
 */
import { printable } from './format.js';

/** Markup that is already safe (made by these helpers). */
export interface Raw {
  html: string;
}

export const raw = (html: string): Raw => ({ html });

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escaped (text and attribute values alike). */
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}

/** Text from a report (possibly from the guest): control characters made visible, then escaped. */
export function text(value: string): string {
  return esc(printable(value));
}

export type Cell = string | number | Raw | undefined;

const cellHtml = (cell: Cell): string => (cell === undefined ? '<span class="none" aria-label="none">–</span>' : typeof cell === 'object' ? cell.html : text(String(cell)));

export interface TableSpec {
  caption?: string;
  head: readonly string[];
  rows: readonly (readonly Cell[])[];
  /** Column indexes holding numbers (right-aligned). */
  numeric?: readonly number[];
  /** The first cell of each row names it (a row header). */
  rowHeaders?: boolean;
  className?: string;
}

export function table(spec: TableSpec): string {
  const numeric = new Set(spec.numeric ?? []);
  const cls = (i: number): string => (numeric.has(i) ? ' class="num"' : '');
  const head = spec.head.map((h, i) => `<th scope="col"${cls(i)}>${text(h)}</th>`).join('');
  const rows = spec.rows
    .map((row) => {
      const cells = row.map((c, i) => (i === 0 && spec.rowHeaders === true ? `<th scope="row"${cls(i)}>${cellHtml(c)}</th>` : `<td${cls(i)}>${cellHtml(c)}</td>`));
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const caption = spec.caption === undefined ? '' : `<caption>${text(spec.caption)}</caption>`;
  return `<div class="table-wrap"><table${spec.className === undefined ? '' : ` class="${esc(spec.className)}"`}>${caption}<thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></div>`;
}

/** Name/value pairs as a description list. */
export function facts(pairs: readonly (readonly [string, Cell])[], className = 'facts'): string {
  const items = pairs.map(([name, value]) => `<div><dt>${text(name)}</dt><dd>${cellHtml(value)}</dd></div>`).join('');
  return `<dl class="${esc(className)}">${items}</dl>`;
}

export type Verdictish = 'pass' | 'fail' | 'error' | 'note' | 'skip';

const MARKS: Readonly<Record<Verdictish, string>> = { pass: '✓', fail: '✗', error: '!', note: 'i', skip: '–' };

/** A verdict word with a symbol (colour is never the only signal). */
export function badge(kind: Verdictish, word: string): Raw {
  return raw(`<span class="badge ${kind}"><span aria-hidden="true">${MARKS[kind]} </span>${text(word)}</span>`);
}

/** An id made of letters, digits and dashes from `parts`. */
export function domId(...parts: (string | number)[]): string {
  return parts.map((p) => String(p).replace(/[^A-Za-z0-9-]+/g, '-')).join('-');
}
