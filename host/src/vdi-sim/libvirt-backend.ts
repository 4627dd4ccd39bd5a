/**
 * What the simulator does in libvirt, through the project's LibvirtClient
 * (a VirshLibvirtClient with a pool of virsh processes, so several VMs' calls
 * run side by side). Desk-pool VMs are clones of a model's template planned by
 * planClone (vm/libvirt/clone-xml.ts); a clone that is shut off has no libvirt
 * domain at all: start = `create` a transient domain from its plan (after
 * making its dir and, once, its qcow2 disk overlays with clone.ts's
 * localCloneHost), close = destroy, so nothing stays defined.
 * Every domain this backend created is destroyed again by `close()`.
 */
import { AtpError, isAtpError } from '@atp/protocol';
import { localCloneHost, planClone, VirshLibvirtClient, type CloneHost, type ClonePlan, type DomainDescription, type DomainState, type LibvirtClient } from '../vm/libvirt/index.js';
import type { SimDomain, SimModel } from './store.js';

/** virsh processes the simulator uses at once. */
export const SIM_VIRSH_POOL = 4;
/** How long a graceful close waits for the guest to power off after the ACPI request before pulling the plug. */
export const GRACEFUL_CLOSE_MS = 60_000;
const POLL_MS = 1000;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const gone = (error: unknown): boolean => isAtpError(error, 'ATP_LIBVIRT_DOMAIN_NOT_FOUND') || isAtpError(error, 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING');

export class LibvirtBackend {
  /** Names of the domains this backend created (destroyed again at close). */
  private readonly created = new Set<string>();

  constructor(
    readonly client: LibvirtClient,
    private readonly files: CloneHost = localCloneHost(),
  ) {}

  static open(uri: string): LibvirtBackend {
    return new LibvirtBackend(new VirshLibvirtClient({ uri, pool: SIM_VIRSH_POOL }));
  }

  /** A template domain as a model; ATP_VDI_SIM_MODEL when libvirt cannot give it. */
  async readModel(name: string): Promise<SimModel> {
    try {
      const info = await this.client.lookup(name);
      return { id: info.uuid, name: info.name, vcpus: info.vcpus, memoryMiB: Math.round(info.maxMemoryKiB / 1024) };
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new AtpError('ATP_VDI_SIM_MODEL', `model '${name}' is not a domain on ${this.client.uri}: ${why}`, { cause, details: { model: name, uri: this.client.uri } });
    }
  }

  /** The template's persistent definition, secrets included (graphics passwords stay in the clones). */
  templateXml(model: SimModel): Promise<string> {
    return this.client.rawDomainXml(model.name, { inactive: true, securityInfo: true });
  }

  plan(templateXml: string, spec: { name: string; uuid: string; dir: string }): ClonePlan {
    return planClone(templateXml, spec);
  }

  /** Every libvirt domain's state by name (one `virsh list --all`). */
  async states(): Promise<Map<string, DomainState>> {
    return new Map((await this.client.listDomains()).map((d) => [d.name, d.state]));
  }

  /** The domain's state, or undefined when libvirt has no such domain (a clone that is shut off). */
  async state(name: string): Promise<DomainState | undefined> {
    try {
      return await this.client.state(name);
    } catch (error) {
      if (isAtpError(error, 'ATP_LIBVIRT_DOMAIN_NOT_FOUND')) return undefined;
      throw error;
    }
  }

  /** Makes the clone's dir and overlays (once) and creates the transient domain from its plan. */
  async start(domain: SimDomain): Promise<void> {
    await this.files.ensureDir(domain.dir);
    if (!domain.overlaysMade) {
      for (const overlay of domain.plan.overlays) {
        if (this.files.createOverlay === undefined) throw new AtpError('ATP_LIBVIRT_CLONE', `clone '${domain.name}': disk overlays cannot be made on ${this.files.label}`, { details: { domain: domain.name } });
        await this.files.createOverlay(overlay);
      }
      domain.overlaysMade = true;
    }
    this.created.add(domain.name);
    await this.client.create(domain.plan.xml);
  }

  /** Pulls the plug; a domain that is already gone is fine. */
  async destroy(name: string): Promise<void> {
    try {
      await this.client.destroy(name);
    } catch (error) {
      if (!gone(error)) throw error;
    }
    this.created.delete(name);
  }

  /** ACPI power-off, then destroy if the guest has not gone within `graceMs` (or when `signal` aborts). */
  async shutdown(name: string, graceMs: number, signal: AbortSignal): Promise<void> {
    await this.client.shutdown(name, 'acpi');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && !signal.aborted) {
      const state = await this.state(name);
      if (state === undefined || state === 'shutoff') return;
      await sleep(POLL_MS, signal);
    }
    await this.destroy(name);
  }

  async reboot(name: string, force: boolean): Promise<void> {
    if (force) await this.client.reset(name);
    else await this.client.reboot(name, 'acpi');
  }

  suspend(name: string): Promise<void> {
    return this.client.suspend(name);
  }

  resume(name: string): Promise<void> {
    return this.client.resume(name);
  }

  /** The running domain's live XML (graphics with their ports), or undefined when it is not running. */
  async live(name: string): Promise<DomainDescription | undefined> {
    try {
      const description = await this.client.domainXml(name);
      return description.id === undefined ? undefined : description;
    } catch (error) {
      if (gone(error)) return undefined;
      throw error;
    }
  }

  /**
   * Sets a VNC or SPICE password on the running domain (QMP set_password).
   * False when QEMU refuses because that display was started without password
   * auth (its template's <graphics> has no passwd): then any password is accepted.
   */
  async setPassword(name: string, protocol: 'vnc' | 'spice', password: string): Promise<boolean> {
    try {
      await this.client.qmpExecutor(name).execute('set_password', { protocol, password });
      return true;
    } catch (error) {
      if (error instanceof Error && /could not set password/i.test(error.message)) return false;
      throw error;
    }
  }

  /** Removes a clone's dir (sockets, logs, overlays). */
  removeDir(dir: string): Promise<void> {
    return this.files.remove(dir);
  }

  /** Destroys every domain this backend created, then closes the client. */
  async close(): Promise<void> {
    await Promise.all([...this.created].map((name) => this.destroy(name).catch(() => undefined)));
    this.created.clear();
    await this.client.close();
  }
}
