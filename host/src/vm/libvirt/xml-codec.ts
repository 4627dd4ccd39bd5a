/**
 * A small, strict XML reader and writer for libvirt domain XML. Hand-written
 * rather than adding a dependency: libvirt prints machine-generated, well-formed
 * XML without DTDs or custom entities, and we read only elements, attributes and
 * text. Handles the XML declaration, comments, CDATA, processing instructions,
 * single- or double-quoted attributes and the five predefined entities plus
 * numeric references; anything else (a mismatched end tag, an unknown entity,
 * a DOCTYPE) is an ATP_LIBVIRT_VIRSH error. Pure.
 */
import { AtpError } from '@atp/protocol';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text directly inside this element (entities decoded). */
  text: string;
}

const MAX_DEPTH = 64;
const NAME = /^[A-Za-z_][\w.:-]*/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

function fail(reason: string, at: number): never {
  throw new AtpError('ATP_LIBVIRT_VIRSH', `invalid domain XML at offset ${at}: ${reason}`, { details: { offset: at, reason } });
}

export function decodeEntities(text: string, at = 0): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) fail('bare "&"', at);
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!(code >= 1 && code <= 0x10ffff)) fail(`bad character reference ${whole}`, at);
      return String.fromCodePoint(code);
    }
    // Own keys only: "&constructor;" is not an entity.
    const value = Object.hasOwn(ENTITIES, ref) ? ENTITIES[ref] : undefined;
    if (value === undefined) fail(`unknown entity ${whole}`, at);
    return value;
  });
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&${c === '<' ? 'lt' : c === '>' ? 'gt' : c === '&' ? 'amp' : c === "'" ? 'apos' : 'quot'};`);
}

/** Parses one document and returns its root element. */
export function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const skipPast = (end: string, what: string): void => {
    const j = source.indexOf(end, i);
    if (j === -1) fail(`unterminated ${what}`, i);
    i = j + end.length;
  };
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    const textEnd = lt === -1 ? source.length : lt;
    if (textEnd > i) {
      const text = source.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decodeEntities(text, i);
      else if (text.trim() !== '') fail('text outside the root element', i);
      i = textEnd;
      continue;
    }
    if (source.startsWith('<!--', i)) skipPast('-->', 'comment');
    else if (source.startsWith('<?', i)) skipPast('?>', 'processing instruction');
    else if (source.startsWith('<![CDATA[', i)) {
      const start = i + 9;
      skipPast(']]>', 'CDATA section');
      const top = stack[stack.length - 1];
      if (!top) fail('CDATA outside the root element', start);
      top.text += source.slice(start, i - 3);
    } else if (source.startsWith('<!', i)) fail('DOCTYPE and declarations are not supported', i);
    else if (source.startsWith('</', i)) {
      const m = NAME.exec(source.slice(i + 2));
      const close = source.indexOf('>', i);
      const open = stack.pop();
      if (!m || close === -1 || source.slice(i + 2 + m[0].length, close).trim() !== '') fail('malformed end tag', i);
      if (!open || open.name !== m[0]) fail(`end tag </${m[0]}> does not match <${open?.name ?? '(none)'}>`, i);
      i = close + 1;
    } else {
      const { element, selfClosing, end } = readStartTag(source, i);
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) fail('a second root element', i);
      else root = element;
      if (!selfClosing) {
        stack.push(element);
        if (stack.length > MAX_DEPTH) fail('elements nested too deeply', i);
      }
      i = end;
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]?.name ?? ''}> is not closed`, source.length);
  if (!root) fail('no root element', 0);
  return root;
}

function readStartTag(source: string, start: number): { element: XmlElement; selfClosing: boolean; end: number } {
  let i = start + 1;
  const name = NAME.exec(source.slice(i));
  if (!name) fail('malformed start tag', start);
  i += name[0].length;
  const element: XmlElement = { name: name[0], attrs: {}, children: [], text: '' };
  for (;;) {
    const ws = /^\s*/.exec(source.slice(i))?.[0].length ?? 0;
    i += ws;
    if (source.startsWith('/>', i)) return { element, selfClosing: true, end: i + 2 };
    if (source[i] === '>') return { element, selfClosing: false, end: i + 1 };
    if (ws === 0) fail('attributes must be separated by blanks', i);
    const attr = /^([A-Za-z_][\w.:-]*)\s*=\s*(?:'([^'<]*)'|"([^"<]*)")/.exec(source.slice(i));
    if (!attr?.[1]) fail(`malformed attribute in <${element.name}>`, i);
    if (Object.hasOwn(element.attrs, attr[1])) fail(`duplicate attribute ${attr[1]}`, i);
    element.attrs[attr[1]] = decodeEntities(attr[2] ?? attr[3] ?? '', i);
    i += attr[0].length;
  }
}

/** Direct children named `name`. */
export function childrenNamed(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((c) => c.name === name) : [];
}

export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}
