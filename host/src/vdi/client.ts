/**
 * OCloudClient: the typed OCloudView admin API ATP uses, one method per
 * operation, each a thin line over VdiHttp (http.ts) and an entry of
 * endpoints.ts. List methods walk every page; `…Page` methods give one page.
 * Power operations answer at once with event ids and per-VM refusals
 * (outcomes.ts); `waitForEvents` / `waitForDomainStatus` poll until done, and
 * power.ts combines both for "start these VMs and tell me which ran".
 */
import { AtpError } from '@atp/protocol';
import { ENDPOINTS } from './endpoints.js';
import { VdiHttp, type CallOptions, type VdiHttpOptions } from './http.js';
import { batchResult, type BatchResult, type EventOutcome, type PowerOperation, type VmOutcome } from './outcomes.js';
import type { PageResult } from './schemas/common.js';
import type { BatchTaskBody, DomainPortVO, DomainQuery, DomainUpdate, DomainVO, SpiceKeyVO } from './schemas/domain.js';
import type { EventQuery, EventVO } from './schemas/event.js';
import type { HostAllQuery, HostPageQuery, HostVO } from './schemas/host.js';
import type { DesktopPoolVO, ModelQuery, PoolCreate, PoolQuery, PoolUpdate } from './schemas/pool.js';
import type { UserGroupVO, UserListVo, UserQuery } from './schemas/user.js';
import { waitForDomainStatus, waitForEvents, type WaitOptions } from './waits.js';

export type OCloudClientOptions = VdiHttpOptions;

export interface PageRequest {
  pageNum: number;
  pageSize: number;
}

export interface PowerOptions extends CallOptions {
  /** 1: power off / reset instead of asking the guest (ACPI). */
  force?: boolean;
  hostId?: string;
}

const BATCH = {
  start: ENDPOINTS.domainStart,
  close: ENDPOINTS.domainClose,
  reboot: ENDPOINTS.domainReboot,
  suspend: ENDPOINTS.domainSuspend,
  resume: ENDPOINTS.domainResume,
} as const;

export class OCloudClient {
  readonly http: VdiHttp;

  constructor(options: OCloudClientOptions) {
    this.http = new VdiHttp(options);
  }

  // Session
  login(): Promise<void> {
    return this.http.login();
  }
  logout(options?: CallOptions): Promise<void> {
    return this.http.logout(options);
  }

  // Hosts
  hosts(query: HostAllQuery = {}, options?: CallOptions): Promise<HostVO[]> {
    return this.http.call(ENDPOINTS.hostAll, { params: query }, options);
  }
  hostPage(page: PageRequest, query: HostPageQuery = {}, options?: CallOptions): Promise<PageResult<HostVO>> {
    return this.http.call(ENDPOINTS.hostPage, { params: { ...query, ...page } }, options);
  }
  /** Every host through the paged list (`hosts()` uses /host/all). */
  hostsPaged(query: HostPageQuery = {}, options?: CallOptions): Promise<HostVO[]> {
    return this.http.callAll(ENDPOINTS.hostPage, query, options);
  }

  // Domains (VMs)
  domains(query: DomainQuery = {}, options?: CallOptions): Promise<DomainVO[]> {
    return this.http.callAll(ENDPOINTS.domainPage, query, options);
  }
  domainPage(page: PageRequest, query: DomainQuery = {}, options?: CallOptions): Promise<PageResult<DomainVO>> {
    return this.http.call(ENDPOINTS.domainPage, { params: { ...query, ...page } }, options);
  }
  domain(id: string, options?: CallOptions): Promise<DomainVO> {
    return this.http.call(ENDPOINTS.domainOne, { params: { id } }, options);
  }
  updateDomain(id: string, patch: DomainUpdate, options?: CallOptions): Promise<void> {
    return this.http.call(ENDPOINTS.domainUpdate, { params: { id }, body: patch }, options);
  }
  /** One power batch: event ids and the VMs the platform refused (each one's ATP_VDI_TASK). */
  async power(operation: PowerOperation, ids: readonly string[], options: PowerOptions = {}): Promise<BatchResult> {
    const body: BatchTaskBody = { idList: [...ids] };
    if (options.force !== undefined) body.isForce = options.force ? 1 : 0;
    if (options.hostId !== undefined) body.hostId = options.hostId;
    const vo = await this.http.call(BATCH[operation], { body }, options);
    return batchResult(operation, vo);
  }
  startDomains(ids: readonly string[], options?: PowerOptions): Promise<BatchResult> {
    return this.power('start', ids, options);
  }
  closeDomains(ids: readonly string[], options?: PowerOptions): Promise<BatchResult> {
    return this.power('close', ids, options);
  }
  rebootDomains(ids: readonly string[], options?: PowerOptions): Promise<BatchResult> {
    return this.power('reboot', ids, options);
  }
  suspendDomains(ids: readonly string[], options?: PowerOptions): Promise<BatchResult> {
    return this.power('suspend', ids, options);
  }
  resumeDomains(ids: readonly string[], options?: PowerOptions): Promise<BatchResult> {
    return this.power('resume', ids, options);
  }
  /** Deletes VMs (`recycle`: to the recycle bin instead of for good). */
  deleteDomains(ids: readonly string[], options: CallOptions & { recycle?: boolean } = {}): Promise<void> {
    return this.http.call(ENDPOINTS.domainDelete, { body: { domainIdList: [...ids], isRecycle: options.recycle ? 1 : 0 } }, options);
  }
  /** Binds VMs to a user; `notBound` lists the VMs the platform did not bind. */
  async bindUser(domainIds: readonly string[], userId: string, options?: CallOptions): Promise<{ notBound: string[] }> {
    const data = await this.http.call(ENDPOINTS.domainBindUser, { body: { domainIdList: [...domainIds], userId } }, options);
    return { notBound: data.notBindDomainIdList };
  }
  unbindUser(domainIds: readonly string[], options?: CallOptions): Promise<void> {
    return this.http.call(ENDPOINTS.domainUnbindUser, { body: { domainIdList: [...domainIds] } }, options);
  }
  /** SPICE host, port (a number here) and ticket of a running VM. */
  spiceKey(id: string, options?: CallOptions): Promise<SpiceKeyVO> {
    return this.http.call(ENDPOINTS.domainSpiceKey, { params: { id } }, options);
  }
  ports(id: string, options?: CallOptions): Promise<DomainPortVO[]> {
    return this.http.call(ENDPOINTS.domainPorts, { params: { id } }, options);
  }
  /** Changes on every call: fetch it once per connection. */
  async vncPassword(id: string, options?: CallOptions): Promise<string> {
    return (await this.http.call(ENDPOINTS.domainVncPassword, { params: { id } }, options)).password;
  }

  // Desk pools and models
  pools(query: PoolQuery = {}, options?: CallOptions): Promise<DesktopPoolVO[]> {
    return this.http.callAll(ENDPOINTS.poolPage, query, options);
  }
  poolPage(page: PageRequest, query: PoolQuery = {}, options?: CallOptions): Promise<PageResult<DesktopPoolVO>> {
    return this.http.call(ENDPOINTS.poolPage, { params: { ...query, ...page } }, options);
  }
  /** The pool named exactly `name`, if any (the list's keyword filter may match more). */
  async poolByName(name: string, options?: CallOptions): Promise<DesktopPoolVO | undefined> {
    return (await this.pools({ keyword: name }, options)).find((p) => p.name === name);
  }
  /** Starts cloning the pool's VMs; answers the event to wait for. */
  async createPool(pool: PoolCreate, options?: CallOptions): Promise<{ eventId: string }> {
    return { eventId: (await this.http.call(ENDPOINTS.poolCreate, { body: pool }, options)).eventId };
  }
  async updatePool(id: string, update: PoolUpdate, options?: CallOptions): Promise<{ eventId: string }> {
    return { eventId: (await this.http.call(ENDPOINTS.poolUpdate, { params: { id }, body: update }, options)).eventId };
  }
  deletePool(id: string, options?: CallOptions): Promise<void> {
    return this.http.call(ENDPOINTS.poolDelete, { params: { id } }, options);
  }
  enablePool(id: string, options?: CallOptions): Promise<void> {
    return this.http.call(ENDPOINTS.poolEnable, { params: { id } }, options);
  }
  disablePool(id: string, options?: CallOptions): Promise<void> {
    return this.http.call(ENDPOINTS.poolDisable, { params: { id } }, options);
  }
  poolDomains(id: string, options?: CallOptions): Promise<DomainVO[]> {
    return this.http.call(ENDPOINTS.poolDomains, { params: { id } }, options);
  }
  /** Templates (models) the pools clone; DomainVOs. */
  models(query: ModelQuery = {}, options?: CallOptions): Promise<DomainVO[]> {
    return this.http.callAll(ENDPOINTS.modelPage, query, options);
  }

  // Users
  /** Users of an organisation unit, by its distinguishedName. */
  users(group: string, query: Omit<UserQuery, 'group'> = {}, options?: CallOptions): Promise<UserListVo[]> {
    return this.http.callAll(ENDPOINTS.userPage, { ...query, group }, options);
  }
  groupTree(options?: CallOptions): Promise<UserGroupVO[]> {
    return this.http.call(ENDPOINTS.groupTree, {}, options);
  }

  // Events
  events(query: EventQuery = {}, options?: CallOptions): Promise<EventVO[]> {
    return this.http.callAll(ENDPOINTS.eventPage, query, options);
  }
  eventPage(page: PageRequest, query: EventQuery = {}, options?: CallOptions): Promise<PageResult<EventVO>> {
    return this.http.call(ENDPOINTS.eventPage, { params: { ...query, ...page } }, options);
  }
  event(id: string, options?: CallOptions): Promise<EventVO> {
    return this.http.call(ENDPOINTS.eventOne, { params: { id } }, options);
  }

  // Waits
  /** Polls each event until it finished; per-event outcomes (ATP_VDI_TASK, ATP_VDI_DEADLINE). */
  waitForEvents(eventIds: readonly string[], options: WaitOptions): Promise<EventOutcome[]> {
    return waitForEvents((id, signal) => this.event(id, signal ? { signal } : {}), eventIds, options);
  }
  /** Polls each VM until its status is one of `wanted`; per-VM outcomes (ATP_VDI_DEADLINE names the late ones). */
  waitForDomainStatus(domainIds: readonly string[], wanted: number | readonly number[], options: WaitOptions): Promise<VmOutcome[]> {
    return waitForDomainStatus((id, signal) => this.domain(id, signal ? { signal } : {}), domainIds, wanted, options);
  }
}

/** The first event outcome's error, thrown; for single tasks such as a pool creation. */
export function requireEvent(outcome: EventOutcome | undefined): void {
  if (outcome === undefined) throw new AtpError('ATP_VDI_REPLY', 'the platform answered no event to wait for');
  if (!outcome.ok && outcome.error) throw outcome.error;
}
