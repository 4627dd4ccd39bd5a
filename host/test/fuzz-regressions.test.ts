/**
 * Regression tests for what the fuzz targets found (each case is the shrunk
 * counterexample, or its shape at a size that made the old code fail), so
 * the fixes stay without running the fuzzer:
 * - virsh output: `domstate` and `list` regexes backtracked quadratically on a
 *   long blank run (100k tabs: 10+ s); "constructor" read as a state;
 * - QGA: discarded lines did not say how long they were or what was wrong;
 * - YAML: an alias bomb in hosts.yaml/platforms.yaml escaped as a ReferenceError,
 *   thousands of nesting levels as a RangeError, and a suite's alias bomb had no line;
 * - VNC: a message announcing megabytes, arriving in small chunks, was joined
 *   and re-decoded per chunk (quadratic), and cut text was built one character
 *   at a time (hundreds of MB of string rope);
 * - domain XML: `&constructor;` decoded to a function's source, an attribute
 *   named `constructor` was a "duplicate";
 * - platform replies: an answer streaming without end was read whole (320 MiB in
 *   the heap); now the client stops at MAX_REPLY_BYTES (a local HTTP server plays
 *   the platform gone wrong).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { loadHosts } from '../src/config/hosts-file.js';
import { loadPlatforms } from '../src/config/platforms-file.js';
import { ENCODING, ServerMessageDecoder } from '../src/display/vnc/messages-codec.js';
import { parseSuiteText } from '../src/scenario/load.js';
import { parseXml } from '../src/vm/libvirt/xml-codec.js';
import { parseDomainList, parseDomstate, parseState } from '../src/vm/libvirt/output-codec.js';
import { QgaDecoder } from '../src/vm/qga/codec.js';
import { OCloudClient } from '../src/vdi/client.js';
import { MAX_REPLY_BYTES } from '../src/vdi/exchange.js';
import { aliasBomb } from './fuzz/mutate.js';

const caught = (f: () => unknown): AtpError => {
  try {
    f();
  } catch (error) {
    if (error instanceof AtpError) return error;
    throw error;
  }
  throw new Error('expected an AtpError');
};
const caughtAsync = async (p: Promise<unknown>): Promise<AtpError> => {
  try {
    await p;
  } catch (error) {
    if (error instanceof AtpError) return error;
    throw error;
  }
  throw new Error('expected an AtpError');
};
const timed = <T>(f: () => T): { value: T; ms: number } => {
  const started = performance.now();
  const value = f();
  return { value, ms: performance.now() - started };
};

describe('virsh output', () => {
  it('domstate after 200k blanks: linear (the old regex took minutes), reasons still cut', () => {
    const { value, ms } = timed(() => parseDomstate(`${'\t'.repeat(200_000)}paused (user)\n`));
    expect(value).toBe('paused');
    expect(ms).toBeLessThan(3000);
    expect(parseDomstate('shut off (destroyed)\n')).toBe('shutoff');
    expect(parseDomstate('running\n')).toBe('running');
  });

  it('a list row with a 100k blank run is refused fast; names with blanks still parse', () => {
    const { value: error, ms } = timed(() => caught(() => parseDomainList(`${'- '.repeat(10_000)}${'\t'.repeat(100_000)} x\n`)));
    expect(error.code).toBe('ATP_LIBVIRT_VIRSH');
    expect(error.details.what).toBe('list');
    expect(ms).toBeLessThan(3000);
    expect(parseDomainList(' 3    my vm     shut off\n -    x running  paused\n')).toEqual([
      { id: 3, name: 'my vm', state: 'shutoff' },
      { id: undefined, name: 'x running', state: 'paused' },
    ]);
  });

  it('"constructor" is not a state', () => {
    expect(caught(() => parseState('constructor')).code).toBe('ATP_LIBVIRT_VIRSH');
  });
});

describe('QGA discards', () => {
  it('say how long the line was, and what was wrong', () => {
    const d = new QgaDecoder({ maxLineBytes: 24 });
    const items = d.push(new TextEncoder().encode(`${'x'.repeat(40)}\nnot json\n{"error":{"class":1}}\n`));
    const reasons = items.flatMap((i) => (i.kind === 'discarded' ? [i.reason] : []));
    expect(reasons.map((r) => r.code)).toEqual(['ATP_FRAME_TOO_LARGE', 'ATP_FRAME_INVALID_JSON', 'ATP_SCHEMA_INVALID']);
    expect(reasons[0]?.details).toMatchObject({ limit: 24 });
    expect(reasons[1]?.details).toMatchObject({ bytes: 9, preview: 'not json' });
    expect(String(reasons[2]?.details.issues)).toMatch(/error/);
  });
});

describe('YAML bombs and deep nesting', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-fuzz-regress-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an alias bomb in hosts.yaml / platforms.yaml is ATP_CONFIG_YAML at the first alias', async () => {
    await writeFile(path.join(dir, 'hosts.yaml'), `${aliasBomb(6, 9)}hosts: {}\n`, { mode: 0o600 });
    await writeFile(path.join(dir, 'platforms.yaml'), `${aliasBomb(6, 9)}platforms: {}\n`);
    for (const load of [loadHosts, loadPlatforms]) {
      const error = await caughtAsync(load({ configDir: dir }));
      expect(error.code).toBe('ATP_CONFIG_YAML');
      expect(error.details).toMatchObject({ line: 2, column: 14 });
      expect(error.message).toMatch(/\.yaml:2:14: .*alias/);
    }
  });

  it('100k nesting levels in hosts.yaml are ATP_CONFIG_YAML naming the line, not a RangeError', async () => {
    await writeFile(path.join(dir, 'hosts.yaml'), `version: 1\n${'- '.repeat(100_000)}x\n`, { mode: 0o600 });
    const error = await caughtAsync(loadHosts({ configDir: dir }));
    expect(error.code).toBe('ATP_CONFIG_YAML');
    expect(error.details).toMatchObject({ line: 2 });
  });

  it('a suite alias bomb names file:line:column; deep nesting is ATP_SCENARIO_YAML', () => {
    const bomb = caught(() => parseSuiteText(`${aliasBomb(6, 9)}name: s\nsteps:\n  - press: a\n`, 'bomb.yaml'));
    expect(bomb.code).toBe('ATP_SCENARIO_YAML');
    expect(bomb.message).toMatch(/^bomb\.yaml:2:14: /);
    const deep = caught(() => parseSuiteText(`name: s\nsteps:\n${'- '.repeat(100_000)}x\n`, 'deep.yaml'));
    expect(deep.code).toBe('ATP_SCENARIO_YAML');
    expect(deep.details).toMatchObject({ line: 3 });
  });
});

describe('VNC server messages', () => {
  it('a 16 MiB ZRLE rectangle in 4 KiB chunks: one message, linear work', () => {
    const size = 16 << 20;
    const head = Buffer.alloc(20);
    head.writeUInt16BE(1, 2);
    head.writeInt32BE(ENCODING.zrle, 12);
    head.writeUInt32BE(size, 16);
    const payload = new Uint8Array(size).fill(7);
    const decoder = new ServerMessageDecoder({ bytesPerPixel: 4 });
    const { value: items, ms } = timed(() => {
      const out = decoder.push(head);
      for (let i = 0; i < size; i += 4096) out.push(...decoder.push(payload.subarray(i, i + 4096)));
      return out;
    });
    expect(items).toHaveLength(1);
    const m = items[0];
    expect(m?.kind === 'message' && m.message.type === 'framebufferUpdate' ? m.message.rects[0]?.pixels?.byteLength : undefined).toBe(size);
    expect(decoder.buffered).toBe(0);
    expect(ms).toBeLessThan(5000);
  });

  it('cut text maps every byte as Latin-1, also 0x80–0x9F', () => {
    const text = Uint8Array.from({ length: 256 }, (_, i) => i);
    const head = Buffer.from([3, 0, 0, 0, 0, 0, 1, 0]);
    const [item] = new ServerMessageDecoder({ bytesPerPixel: 4 }).push(Buffer.concat([head, text]));
    expect(item?.kind === 'message' && item.message.type === 'serverCutText' ? [...item.message.text].map((c) => c.charCodeAt(0)) : []).toEqual([...text]);
  });
});

describe('domain XML', () => {
  it('&constructor; is an unknown entity; an attribute named constructor is fine', () => {
    expect(caught(() => parseXml('<a>&constructor;</a>')).details).toMatchObject({ reason: 'unknown entity &constructor;' });
    expect(parseXml(`<a constructor='1' toString="2"/>`).attrs).toEqual({ constructor: '1', toString: '2' });
  });
});

describe('platform replies', () => {
  it('an answer past MAX_REPLY_BYTES, with or without a Content-Length, is ATP_VDI_REPLY naming the limit', async () => {
    const mib = new Uint8Array(1 << 20).fill(0x20);
    const server = http.createServer((req, res) => {
      req.resume();
      if (req.url?.endsWith('/login') === true) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":0,"data":{"token":"T"}}');
      const total = MAX_REPLY_BYTES / mib.byteLength + 8;
      res.writeHead(200, { 'content-type': 'application/json', ...(req.url?.includes('/domain/sized') === true ? { 'content-length': String(total * mib.byteLength) } : {}) });
      res.on('error', () => undefined);
      let sent = 0;
      const more = (): void => {
        while (sent < total) {
          sent++;
          if (!res.write(mib)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new OCloudClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, username: 'u', password: 'p', retry: { attempts: 1 } });
      for (const id of ['streamed', 'sized']) {
        const error = await caughtAsync(client.domain(id));
        expect(error.code).toBe('ATP_VDI_REPLY');
        expect(error.details).toMatchObject({ limit: MAX_REPLY_BYTES, path: `/ocloud/v1/domain/${id}` });
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
