/**
 * Fuzz target for OCloudView platform replies (host/src/vdi/): the real
 * OCloudClient over Node's fetch against a local HTTP server (127.0.0.1) that
 * answers login properly and every other call with the fuzzed reply: hostile
 * JSON built from valid envelopes (a domain page, one domain, the host list),
 * raw text, odd statuses and content types, and now and then an endless-looking
 * answer (hundreds of MiB without a Content-Length). Calls: one domain, one domain page,
 * the host list, and the page walk over all domains (bounded to a few pages
 * here so one input stays short). Retries are off (one try per call).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { AtpError } from '@atp/protocol';
import { OCloudClient } from '../../src/vdi/client.js';
import { namesPlace, type FuzzTarget } from './harness.js';
import { hostileJsonText } from './mutate.js';

const domain = { id: 'd-1', name: 'vm-01', status: 1, desktopPoolId: 'p-1', hostId: 'h-1', createTime: { time: 1700000000000 }, cores: 2 };
const SEEDS: unknown[] = [
  { status: 0, msg: 'ok', data: domain },
  { status: 0, msg: '', data: { list: [domain, { ...domain, id: 'd-2', name: 'vm-02' }], total: '2', pageNum: 1, pageSize: 10, pages: 1 } },
  { status: 0, data: [{ id: 'h-1', name: 'hv-1', status: 1, ip: '10.0.0.5' }] },
  { status: 1006, msg: 'token expired' },
  { status: 500, msg: 'internal', data: null },
];

export interface VdiInput {
  call: 'domain' | 'domainPage' | 'hosts' | 'domains';
  httpStatus: number;
  contentType: string;
  body: string;
  /** When not 0: the answer is this many MiB of JSON-looking bytes, streamed without a length (a server gone wrong). */
  hugeMb: number;
}

/** Larger than the memory bound `npm run fuzz` checks (256 MB): a client that reads it all breaks the bound. */
const HUGE_MB = 320;
const MIB = new Uint8Array(1 << 20).fill(0x20);

function streamHuge(res: http.ServerResponse, mb: number): void {
  let sent = 0;
  const more = (): void => {
    while (sent < mb) {
      sent++;
      if (!res.write(MIB)) return void res.once('drain', more);
    }
    res.end();
  };
  res.on('error', () => undefined);
  more();
}

const input: fc.Arbitrary<VdiInput> = fc.record({
  call: fc.constantFrom('domain', 'domainPage', 'hosts', 'domains'),
  httpStatus: fc.oneof({ weight: 9, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(201, 204, 302, 400, 401, 404, 500, 503) }),
  contentType: fc.constantFrom('application/json', 'text/html', 'application/json; charset=utf-8'),
  body: fc.oneof({ weight: 9, arbitrary: hostileJsonText(SEEDS) }, { weight: 1, arbitrary: fc.constantFrom('', '<html>', 'null', '[]', '{"status":0,"data":{"list":null,"pages":"99999999999999999999"}}') }),
  hugeMb: fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(HUGE_MB) }),
});

export const vdiRepliesTarget: FuzzTarget<VdiInput> = {
  name: 'vdi-replies',
  boundary: 'OCloudView replies (vdi/http.ts, exchange.ts, schemas/)',
  input,
  maxMs: 3000,
  locates: (e) => namesPlace(e, ['path', 'endpoint', 'issues']),
  async open() {
    let current: VdiInput | undefined;
    const server = http.createServer((req, res) => {
      req.resume();
      if (req.url?.endsWith('/login') === true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 0, data: { token: 'T0' } }));
        return;
      }
      const reply = current ?? { httpStatus: 500, contentType: 'text/plain', body: 'no input', hugeMb: 0 };
      if (reply.hugeMb > 0) {
        res.writeHead(200, { 'content-type': 'application/json' });
        streamHuge(res, reply.hugeMb);
        return;
      }
      res.writeHead(reply.httpStatus, { 'content-type': reply.contentType }).end(reply.httpStatus === 204 ? undefined : reply.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new OCloudClient({ baseUrl: `http://127.0.0.1:${port}`, username: 'fuzz', password: 'pw', retry: { attempts: 1 }, timeoutMs: 2500, maxPages: 5 });
    return {
      async run(i) {
        current = i;
        const calls: Record<VdiInput['call'], () => Promise<unknown>> = {
          domain: () => client.domain('d-1'),
          domainPage: () => client.domainPage({ pageNum: 1, pageSize: 10 }),
          hosts: () => client.hosts(),
          domains: () => client.domains(),
        };
        try {
          await calls[i.call]();
        } catch (error) {
          return [error as AtpError];
        }
        return undefined;
      },
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  },
};
