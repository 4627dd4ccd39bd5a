/**
 * Display access from the running domain's live XML graphics:
 * GET /ocloud/v1/domain/{id}/spice-key → {domainId, hostId, ip, key, name,
 * port (a string)}, /port → [{type: "vnc"|"spice", value}], /vnc-password →
 * {password}. The SPICE key is made once per run of the domain; the VNC
 * password anew on every call, as observed on the real platform. Both are set
 * on the domain (QMP set_password); when its display was started without
 * password auth (the template's <graphics> has no passwd) QEMU refuses that,
 * any password then works, and msg says so.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimContext } from '../context.js';
import { conflict, ok } from '../envelope.js';
import { parseInput, queryText } from '../input.js';
import type { DomainDescription, DomainGraphics } from '../../vm/libvirt/index.js';
import { domainOf } from './domains.js';
import type { SimDomain } from '../store.js';

interface IdParams {
  id: string;
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';
/** VNC passwords are 8 characters (DES key); SPICE tickets may be longer. */
function secret(length: number): string {
  return [...randomBytes(length)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

const UNENFORCED = (what: string): string => `success (the domain's ${what} display has no password auth, so the password is not required)`;

async function running(ctx: SimContext, d: SimDomain): Promise<DomainDescription> {
  const live = await ctx.backend.live(d.name);
  if (live === undefined) throw conflict(`domain '${d.name}' is not running`);
  return live;
}

function display(live: DomainDescription, type: 'vnc' | 'spice', d: SimDomain): DomainGraphics & { port: number } {
  const g = live.graphics.find((x) => x.type === type && x.port !== undefined);
  if (g === undefined || g.port === undefined) throw conflict(`domain '${d.name}' has no ${type === 'vnc' ? 'VNC' : 'SPICE'} display with a TCP port`);
  return { ...g, port: g.port };
}

export function registerDisplayRoutes(app: FastifyInstance, ctx: SimContext): void {
  /** SPICE keys by domain id and hypervisor id (a new run of the domain gets a new key). */
  const spiceKeys = new Map<string, { key: string; enforced: boolean }>();
  const listenIp = (g: DomainGraphics): string => (g.listen === undefined || g.listen === '0.0.0.0' || g.listen === '::' ? ctx.host.ip : g.listen);

  app.get<{ Params: IdParams }>('/ocloud/v1/domain/:id/spice-key', async (request) => {
    const d = domainOf(ctx, request.params.id);
    const live = await running(ctx, d);
    const g = display(live, 'spice', d);
    const run = `${d.id}:${live.id ?? ''}`;
    let ticket = spiceKeys.get(run);
    if (ticket === undefined) {
      const key = secret(16);
      ticket = { key, enforced: await ctx.backend.setPassword(d.name, 'spice', key) };
      for (const k of spiceKeys.keys()) if (k.startsWith(`${d.id}:`)) spiceKeys.delete(k);
      spiceKeys.set(run, ticket);
    }
    const answer = ok({ domainId: d.id, hostId: ctx.host.id, ip: listenIp(g), key: ticket.key, name: d.name, port: String(g.port) });
    return ticket.enforced ? answer : { ...answer, msg: UNENFORCED('SPICE') };
  });

  app.get<{ Params: IdParams }>('/ocloud/v1/domain/:id/port', async (request) => {
    const d = domainOf(ctx, request.params.id);
    const live = await running(ctx, d);
    return ok(live.graphics.flatMap((g) => ((g.type === 'vnc' || g.type === 'spice') && g.port !== undefined ? [{ type: g.type, value: g.port }] : [])));
  });

  app.get<{ Params: IdParams }>('/ocloud/v1/domain/:id/vnc-password', async (request) => {
    parseInput(z.object({ sharePassword: queryText.optional() }), request.query, 'query');
    const d = domainOf(ctx, request.params.id);
    const live = await running(ctx, d);
    display(live, 'vnc', d);
    const password = secret(8);
    const enforced = await ctx.backend.setPassword(d.name, 'vnc', password);
    const answer = ok({ password });
    return enforced ? answer : { ...answer, msg: UNENFORCED('VNC') };
  });
}
