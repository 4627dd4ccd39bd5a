/**
 * Batch power operations: POST /ocloud/v1/domain/start|close|reboot|suspend|
 * resume with {idList, hostId?, isForce?}. The answer comes at once:
 * {eventIdList, errorList}; an unknown id, a busy domain or an injected
 * batchError fault goes to errorList (the envelope's status stays 0), every
 * other domain gets an event and its work runs in the background on libvirt:
 * start = create the transient clone; close = destroy (isForce 1) or ACPI
 * power-off with destroy after a grace period; reboot = reset (isForce 1) or
 * ACPI reboot; suspend/resume pause and continue the running domain.
 */
import type { FastifyInstance } from 'fastify';
import { batchTaskBody } from '../bodies.js';
import type { SimContext } from '../context.js';
import { notFound, ok } from '../envelope.js';
import { parseInput } from '../input.js';
import { GRACEFUL_CLOSE_MS } from '../libvirt-backend.js';
import { EVENT_TYPE, OPERATE_TYPE, type SimDomain } from '../store.js';

type Verb = 'start' | 'close' | 'reboot' | 'suspend' | 'resume';
type Work = (ctx: SimContext, d: SimDomain, force: boolean, signal: AbortSignal) => Promise<void>;

const RUNNING = new Set(['running', 'blocked', 'paused', 'shutdown', 'pmsuspended']);

async function requireRunning(ctx: SimContext, d: SimDomain): Promise<string> {
  const state = await ctx.backend.state(d.name);
  if (state === undefined || !RUNNING.has(state)) throw new Error(`domain '${d.name}' is not running`);
  return state;
}

const WORK: Record<Verb, Work> = {
  async start(ctx, d) {
    const state = await ctx.backend.state(d.name);
    if (state !== undefined && RUNNING.has(state)) throw new Error(`domain '${d.name}' is already running`);
    // The neverRunning fault: success reported, nothing started.
    if (ctx.faults.isNeverRunning(d.id)) return;
    await ctx.backend.start(d);
  },
  async close(ctx, d, force, signal) {
    await requireRunning(ctx, d);
    if (force) await ctx.backend.destroy(d.name);
    else await ctx.backend.shutdown(d.name, GRACEFUL_CLOSE_MS, signal);
  },
  async reboot(ctx, d, force) {
    await requireRunning(ctx, d);
    await ctx.backend.reboot(d.name, force);
  },
  async suspend(ctx, d) {
    if ((await requireRunning(ctx, d)) === 'paused') throw new Error(`domain '${d.name}' is already suspended`);
    await ctx.backend.suspend(d.name);
  },
  async resume(ctx, d) {
    if ((await requireRunning(ctx, d)) !== 'paused') throw new Error(`domain '${d.name}' is not suspended`);
    await ctx.backend.resume(d.name);
  },
};

export interface ErrorInfo {
  domainId: string;
  domainName?: string;
  errorMsg: string;
}

export function registerPowerRoutes(app: FastifyInstance, ctx: SimContext): void {
  for (const verb of Object.keys(WORK) as Verb[]) {
    app.post(`/ocloud/v1/domain/${verb}`, (request) => {
      const body = parseInput(batchTaskBody, request.body, 'body');
      if (body.hostId !== undefined && body.hostId !== '' && body.hostId !== ctx.host.id) throw notFound(`hostId: no host '${body.hostId}'`);
      const force = body.isForce === 1;
      const eventIdList: string[] = [];
      const errorList: ErrorInfo[] = [];
      for (const id of new Set(body.idList)) {
        const d = ctx.store.domains.get(id);
        const injected = ctx.faults.takeBatchError(id);
        if (injected !== undefined) errorList.push({ domainId: id, ...(d === undefined ? {} : { domainName: d.name }), errorMsg: injected });
        else if (d === undefined) errorList.push({ domainId: id, errorMsg: `no domain '${id}'` });
        else if (ctx.store.busy.has(d.id)) errorList.push({ domainId: id, domainName: d.name, errorMsg: `domain '${d.name}': an operation is in progress` });
        else {
          const event = ctx.store.addEvent({ operateType: OPERATE_TYPE[verb], eventType: EVENT_TYPE.domain, description: `${verb}${force ? ' (force)' : ''} domain '${d.name}'`, domain: d });
          ctx.tasks.run(event, d.id, (signal) => WORK[verb](ctx, d, force, signal));
          eventIdList.push(event.id);
        }
      }
      return ok({ eventIdList, errorList });
    });
  }
}
