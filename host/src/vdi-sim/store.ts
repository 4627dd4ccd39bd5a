/**
 * The simulator's platform state in memory: models (template domains), desk
 * pools, their clones (domains) and task events. Nothing here talks to libvirt:
 * a domain's power state is read from libvirt whenever it is shown (records.ts);
 * the store keeps what libvirt does not know (pool membership, bound user,
 * remark, the clone plan) and which domains have a task in flight.
 */
import type { ClonePlan } from '../vm/libvirt/index.js';
import { newId } from './ids.js';

export interface SimModel {
  /** The template's libvirt UUID. */
  id: string;
  /** The template's libvirt domain name. */
  name: string;
  vcpus: number;
  memoryMiB: number;
}

export interface SimPool {
  id: string;
  name: string;
  /** 0 dedicated, 1 shared, 2 teaching. */
  type: number;
  /** The model the pool was created from. */
  modelId: string;
  /** The model new clones come from (changed by an update). */
  curModelId: string;
  domainPrefix: string;
  /** How many clones the pool should have (create/update; a deleted clone lowers it). */
  amount: number;
  remark: string | undefined;
  classNo: string | undefined;
  forceFreeze: number | undefined;
  enabled: 0 | 1;
  createTime: number;
  /** The number the next clone's name gets. */
  nextIndex: number;
}

export interface SimDomain {
  /** The clone's libvirt UUID. */
  id: string;
  /** The clone's libvirt domain name. */
  name: string;
  poolId: string;
  modelId: string;
  /** The clone's own dir (sockets, logs, overlays). */
  dir: string;
  plan: ClonePlan;
  overlaysMade: boolean;
  vcpus: number;
  memoryMiB: number;
  userId: string | undefined;
  remark: string | undefined;
  createTime: number;
  updateTime: number;
}

export interface SimEvent {
  id: string;
  operateType: number;
  eventType: number;
  description: string;
  domainId: string | undefined;
  domainName: string | undefined;
  createTime: number;
  updateTime: number;
  /** Absent while the task runs; then 1 success, 0 failure (with errorReason). */
  isSuccess: 0 | 1 | undefined;
  errorReason: string | undefined;
}

/** What an event's operateType means (the simulator's own numbering; the real codes are undocumented). */
export const OPERATE_TYPE = { start: 1, close: 2, reboot: 3, suspend: 4, resume: 5, createPool: 11, updatePool: 12 } as const;
/** eventType: 0 a task on one domain, 1 a task on a desk pool. */
export const EVENT_TYPE = { domain: 0, pool: 1 } as const;

export class SimStore {
  readonly models = new Map<string, SimModel>();
  readonly pools = new Map<string, SimPool>();
  readonly domains = new Map<string, SimDomain>();
  readonly events = new Map<string, SimEvent>();
  /** Domain ids with a task in flight (their status reads 5). */
  readonly busy = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  addEvent(fields: Pick<SimEvent, 'operateType' | 'eventType' | 'description'> & { domain?: SimDomain }): SimEvent {
    const at = this.now();
    const event: SimEvent = {
      id: newId(),
      operateType: fields.operateType,
      eventType: fields.eventType,
      description: fields.description,
      domainId: fields.domain?.id,
      domainName: fields.domain?.name,
      createTime: at,
      updateTime: at,
      isSuccess: undefined,
      errorReason: undefined,
    };
    this.events.set(event.id, event);
    return event;
  }

  finishEvent(event: SimEvent, error: string | undefined): void {
    event.isSuccess = error === undefined ? 1 : 0;
    event.errorReason = error;
    event.updateTime = this.now();
  }

  poolDomains(poolId: string): SimDomain[] {
    return [...this.domains.values()].filter((d) => d.poolId === poolId);
  }

  domainByName(name: string): SimDomain | undefined {
    return [...this.domains.values()].find((d) => d.name === name);
  }
}
