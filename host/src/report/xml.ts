/**
 * A minimal XML writer for the JUnit report. Hand-written because JUnit needs a
 * handful of elements and attributes, and a library would add a dependency for
 * twenty lines; what matters is the escaping, which is done here with care:
 *
 *  - text: & < > escaped (">" too, so "]]>" can never appear);
 *  - attributes: & < > " ' escaped, and tab, newline, carriage return as
 *    character references so attribute-value normalisation keeps them;
 *  - characters XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE/FFFF)
 *    cannot be escaped at all, so they are written as visible "\u001b" text.
 * Element and attribute names are the caller's literals and are not checked.
 */

export type XmlAttrs = Readonly<Record<string, string | number | undefined>>;

export interface XmlElement {
  name: string;
  attrs?: XmlAttrs;
  /** Child elements and text, in order. */
  children?: ReadonlyArray<XmlElement | string>;
}

const FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Replaces characters XML 1.0 cannot carry with visible \uXXXX text. */
export function xmlSafe(text: string): string {
  return text.replace(FORBIDDEN, (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

export function escapeText(text: string): string {
  return xmlSafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(text: string): string {
  return xmlSafe(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

function attrs(a: XmlAttrs | undefined): string {
  if (a === undefined) return '';
  return Object.entries(a)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
    .join('');
}

function render(el: XmlElement, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const open = `<${el.name}${attrs(el.attrs)}`;
  const children = el.children ?? [];
  if (children.length === 0) {
    out.push(`${pad}${open}/>`);
  } else if (children.every((c) => typeof c === 'string')) {
    // Text-only content is written inline so no indentation leaks into it.
    out.push(`${pad}${open}>${children.map((c) => escapeText(c as string)).join('')}</${el.name}>`);
  } else {
    out.push(`${pad}${open}>`);
    for (const child of children) {
      if (typeof child === 'string') out.push(escapeText(child));
      else render(child, depth + 1, out);
    }
    out.push(`${pad}</${el.name}>`);
  }
}

/** The document: an XML declaration and the root element, indented, ending with a newline. */
export function renderXml(root: XmlElement): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  render(root, 0, out);
  return `${out.join('\n')}\n`;
}
