/**
 * The platform's records (DomainVO, DesktopPoolVO, HostVO, EventVO,
 * UserListVo, UserGroupVO) built from the store, with the field names and
 * types of api-subset.json. A field is only written when the simulator has a
 * true value for it; the contract makes every answer field optional. Domain
 * status comes from libvirt's state (`platformStatus`), never from the store,
 * except 5 while a task of ours is in flight. Pure.
 */
import type { DomainState } from '../vm/libvirt/index.js';
import type { SimHost } from './host-info.js';
import type { SimOu, SimUser } from './seed.js';
import type { SimDomain, SimEvent, SimModel, SimPool } from './store.js';

/** A Java timestamp as the platform serialises one: an object with epoch ms in `time`. */
export interface Timestamp {
  time: number;
}
const ts = (ms: number): Timestamp => ({ time: ms });
const iso = (ms: number): string => new Date(ms).toISOString();

export const DOMAIN_STATUS = { shutOff: 0, running: 1, suspended: 2, busy: 5 } as const;

/** libvirt state → platform status: running 1, paused 2, absent or shut off 0; 5 while a task is in flight. */
export function platformStatus(state: DomainState | undefined, busy: boolean): number {
  if (busy) return DOMAIN_STATUS.busy;
  switch (state) {
    case 'running':
    case 'blocked':
    case 'shutdown': // "in shutdown": still running until it is gone
      return DOMAIN_STATUS.running;
    case 'paused':
    case 'pmsuspended':
      return DOMAIN_STATUS.suspended;
    default: // shutoff, crashed, nostate, unknown, or no such domain (a clone that is shut off)
      return DOMAIN_STATUS.shutOff;
  }
}

export interface DomainVO {
  id: string;
  name: string;
  status: number;
  hostId: string;
  hostName: string;
  cpu: number;
  memory: number;
  isModel: number;
  isCloneDomain: number;
  isConnected: number;
  isRecycle: number;
  desktopPoolId?: string;
  motherId?: string;
  motherName?: string;
  childCount?: number;
  userId?: string;
  remark?: string;
  createTime: Timestamp;
  updateTime: Timestamp;
}

export function domainVO(d: SimDomain, status: number, host: SimHost, model: SimModel | undefined): DomainVO {
  return {
    id: d.id,
    name: d.name,
    status,
    hostId: host.id,
    hostName: host.name,
    cpu: d.vcpus,
    memory: d.memoryMiB,
    isModel: 0,
    isCloneDomain: 1,
    // The simulator does not watch display connections.
    isConnected: 0,
    isRecycle: 0,
    desktopPoolId: d.poolId,
    motherId: d.modelId,
    ...(model === undefined ? {} : { motherName: model.name }),
    ...(d.userId === undefined ? {} : { userId: d.userId }),
    ...(d.remark === undefined ? {} : { remark: d.remark }),
    createTime: ts(d.createTime),
    updateTime: ts(d.updateTime),
  };
}

export function modelVO(m: SimModel, status: number, host: SimHost, childCount: number, since: number): DomainVO {
  return {
    id: m.id,
    name: m.name,
    status,
    hostId: host.id,
    hostName: host.name,
    cpu: m.vcpus,
    memory: m.memoryMiB,
    isModel: 1,
    isCloneDomain: 0,
    isConnected: 0,
    isRecycle: 0,
    childCount,
    createTime: ts(since),
    updateTime: ts(since),
  };
}

export interface DesktopPoolVO {
  id: string;
  name: string;
  type: number;
  amount: number;
  usedAmount: number;
  enabled: number;
  modelId: string;
  curModelId: string;
  curModelName?: string;
  modelList: { id: string; name: string }[];
  domainPrefix: string;
  remark?: string;
  classNo?: string;
  forceFreeze?: number;
}

export function poolVO(p: SimPool, domains: readonly SimDomain[], models: ReadonlyMap<string, SimModel>): DesktopPoolVO {
  const used = [...new Set([p.modelId, p.curModelId, ...domains.map((d) => d.modelId)])];
  return {
    id: p.id,
    name: p.name,
    type: p.type,
    amount: p.amount,
    usedAmount: domains.filter((d) => d.userId !== undefined).length,
    enabled: p.enabled,
    modelId: p.modelId,
    curModelId: p.curModelId,
    ...(models.get(p.curModelId) === undefined ? {} : { curModelName: models.get(p.curModelId)?.name ?? '' }),
    modelList: used.flatMap((id) => {
      const m = models.get(id);
      return m === undefined ? [] : [{ id: m.id, name: m.name }];
    }),
    domainPrefix: p.domainPrefix,
    ...(p.remark === undefined ? {} : { remark: p.remark }),
    ...(p.classNo === undefined ? {} : { classNo: p.classNo }),
    ...(p.forceFreeze === undefined ? {} : { forceFreeze: p.forceFreeze }),
  };
}

export interface HostVO {
  id: string;
  name: string;
  ip: string;
  status: number;
  arch: string;
  cpu: string;
  cpuSize: number;
  runningDomainCount: number;
  createTime: string;
}

/** Host status 1: enabled. */
export function hostVO(h: SimHost, runningDomainCount: number): HostVO {
  return { id: h.id, name: h.name, ip: h.ip, status: 1, arch: h.arch, cpu: h.cpu, cpuSize: h.cpuSize, runningDomainCount, createTime: iso(h.createTime) };
}

export interface EventVO {
  id: string;
  createTime: string;
  updateTime: string;
  description: string;
  eventType: number;
  operateType: number;
  hostId: string;
  ip: string;
  domainId?: string;
  domainName?: string;
  isSuccess?: number;
  errorReason?: string;
}

export function eventVO(e: SimEvent, host: SimHost): EventVO {
  return {
    id: e.id,
    createTime: iso(e.createTime),
    updateTime: iso(e.updateTime),
    description: e.description,
    eventType: e.eventType,
    operateType: e.operateType,
    hostId: host.id,
    ip: host.ip,
    ...(e.domainId === undefined ? {} : { domainId: e.domainId }),
    ...(e.domainName === undefined ? {} : { domainName: e.domainName }),
    ...(e.isSuccess === undefined ? {} : { isSuccess: e.isSuccess }),
    ...(e.errorReason === undefined ? {} : { errorReason: e.errorReason }),
  };
}

export interface UserListVo {
  id: string;
  sAMAccountName: string;
  displayName: string;
  cn: string;
  distinguishedName: string;
}

export function userVO(u: SimUser): UserListVo {
  return { id: u.id, sAMAccountName: u.sAMAccountName, displayName: u.displayName, cn: u.displayName, distinguishedName: u.distinguishedName };
}

export interface UserGroupVO {
  id: string;
  ou: string;
  distinguishedName: string;
  parent?: string;
  list: UserGroupVO[];
}

/** `parent` is the parent unit's id. */
export function groupVO(o: SimOu): UserGroupVO {
  return { id: o.id, ou: o.ou, distinguishedName: o.distinguishedName, ...(o.parentId === undefined ? {} : { parent: o.parentId }), list: o.children.map(groupVO) };
}
