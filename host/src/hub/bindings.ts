/**
 * Which VM a session speaks for. Without bindings a session is named by its
 * hello's agentId (the guest's hostname by default), so clones of one template
 * collide and any agent holding the shared token may claim any id. A binding
 * names the session instead, from what the host knows:
 *
 * - a bound token (`hub.bind`): the agent presenting it is `key`;
 * - a bound channel (`connectVirtio({ bind })`): whatever arrives over that
 *   VM's virtio-serial socket is `key`, and must present a hub-wide token or
 *   the token bound to the same key.
 *
 * Either may name the VM's SMBIOS UUID; the hello's vmUuid must then equal it
 * (over a bound channel with a hub-wide token, a hello without vmUuid is
 * accepted: the channel is the VM's own).
 * A bound key is reserved: an unbound hello claiming it as its agentId is
 * refused. Refusals are ATP_HUB_AUTH (a token the hub does not know) or
 * ATP_HUB_IDENTITY (a known token or channel, but the wrong VM), each naming
 * the key, both UUIDs and the agentId the hello gave.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AtpError, VM_UUID_PATTERN, type HelloBody } from '@atp/protocol';
import type { TokenChecker } from './auth.js';

/** hub.bind's argument: an agent presenting `token` is `key` (and must be in VM `vmUuid` when given). */
export interface VmBinding {
  token: string;
  /** The host's name for the target, e.g. `lab-3` or `desk-07@hv1`: the session key in streams, status and the store. */
  key: string;
  /** The VM's SMBIOS system UUID (QEMU -uuid, libvirt <uuid>); any case, compared lowercase. */
  vmUuid?: string;
}

/** connectVirtio's `bind`: every session over that channel is `key` (and must be in VM `vmUuid` when given). */
export interface ChannelBinding {
  key: string;
  vmUuid?: string;
}

/** Who a hello speaks for, once accepted. */
export interface SessionIdentity {
  /** What the hub keys the session by: the binding's key, else the hello's agentId. */
  key: string;
  /** The token binding it was admitted through (unbind ends such sessions). */
  tokenBinding: object | undefined;
}

interface TokenEntry {
  digest: Buffer;
  key: string;
  vmUuid: string | undefined;
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** Control characters and surrounding blanks would make keys that read alike differ. */
const KEY_PATTERN = /^(?!\s)[^\p{Cc}]{1,256}(?<!\s)$/u;

function checkKey(key: unknown, where: string): string {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `${where}.key must be 1–256 characters without control characters or surrounding blanks, got ${JSON.stringify(key)}`, { details: { field: `${where}.key` } });
  }
  return key;
}

function checkUuid(vmUuid: unknown, where: string): string | undefined {
  if (vmUuid === undefined) return undefined;
  const lower = typeof vmUuid === 'string' ? vmUuid.toLowerCase() : '';
  if (!VM_UUID_PATTERN.test(lower)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `${where}.vmUuid must be an 8-4-4-4-12 hex UUID, got ${JSON.stringify(vmUuid)}`, { details: { field: `${where}.vmUuid` } });
  }
  return lower;
}

export class IdentityBindings {
  private readonly tokens: TokenEntry[] = [];
  private readonly channels = new Map<string, ChannelBinding>();

  constructor(private readonly shared: TokenChecker) {}

  /** Registers a token binding; returns the function that removes it (idempotent). */
  bind(binding: VmBinding): { entry: object; unbind: () => void } {
    const key = checkKey(binding.key, 'bind');
    const vmUuid = checkUuid(binding.vmUuid, 'bind');
    if (typeof binding.token !== 'string' || binding.token.length === 0) {
      throw new AtpError('ATP_SCHEMA_INVALID', 'bind.token must be a non-empty string', { details: { field: 'bind.token' } });
    }
    if (this.shared.knows(binding.token)) {
      throw new AtpError('ATP_SCHEMA_INVALID', `bind.token for ${key} is one of the hub's own tokens; give each VM a token of its own`, { details: { field: 'bind.token', key } });
    }
    const d = digest(binding.token);
    const taken = this.tokens.find((t) => t.key === key || timingSafeEqual(t.digest, d));
    if (taken !== undefined) {
      const what = taken.key === key ? `key ${key} is already bound to a token` : `this token is already bound to ${taken.key}`;
      throw new AtpError('ATP_SCHEMA_INVALID', `bind: ${what}; unbind it first`, { details: { field: taken.key === key ? 'bind.key' : 'bind.token', key } });
    }
    const entry: TokenEntry = { digest: d, key, vmUuid };
    this.tokens.push(entry);
    const unbind = (): void => {
      const i = this.tokens.indexOf(entry);
      if (i >= 0) this.tokens.splice(i, 1);
    };
    return { entry, unbind };
  }

  /** Validates a channel binding and reserves its key; release() frees it (the channel closed). */
  reserveChannel(binding: ChannelBinding): { channel: ChannelBinding; release: () => void } {
    const key = checkKey(binding.key, 'connectVirtio.bind');
    const vmUuid = checkUuid(binding.vmUuid, 'connectVirtio.bind');
    if (this.channels.has(key)) {
      throw new AtpError('ATP_SCHEMA_INVALID', `connectVirtio.bind: another open channel is already bound to ${key}`, { details: { field: 'connectVirtio.bind.key', key } });
    }
    const channel: ChannelBinding = vmUuid === undefined ? { key } : { key, vmUuid };
    this.channels.set(key, channel);
    return {
      channel,
      release: () => {
        if (this.channels.get(key) === channel) this.channels.delete(key);
      },
    };
  }

  /** Who the hello speaks for, or the error refusing it (ATP_HUB_AUTH or ATP_HUB_IDENTITY). */
  identify(hello: HelloBody, channel: ChannelBinding | undefined): SessionIdentity | AtpError {
    const { agentId, token } = hello;
    const bound = this.tokenEntry(token);
    if (channel !== undefined) {
      if (bound !== undefined && bound.key !== channel.key) {
        return identityError(`token of ${bound.key} presented on ${channel.key}'s channel (hello agentId ${agentId})`, { key: channel.key, tokenKey: bound.key, agentId });
      }
      if (bound === undefined && !this.shared.accepts(agentId, token)) return authError(agentId, channel.key);
      // The channel itself is the VM's (no other guest can reach its chardev): an agent that cannot read its
      // UUID (no DMI, an older agent) is accepted there; one that names another VM is not.
      return this.checkUuids(hello, channel.key, [channel.vmUuid, bound?.vmUuid], bound === undefined) ?? { key: channel.key, tokenBinding: bound };
    }
    if (bound !== undefined) return this.checkUuids(hello, bound.key, [bound.vmUuid]) ?? { key: bound.key, tokenBinding: bound };
    if (!this.shared.accepts(agentId, token)) return authError(agentId, undefined);
    if (this.isReserved(agentId)) {
      return identityError(`agent id ${agentId} is bound to a VM; this hello came without that VM's token or channel`, { key: agentId, agentId });
    }
    return { key: agentId, tokenBinding: undefined };
  }

  private isReserved(key: string): boolean {
    return this.channels.has(key) || this.tokens.some((t) => t.key === key);
  }

  /** Compares against every bound token, so the time does not depend on which one matched. */
  private tokenEntry(token: string): TokenEntry | undefined {
    const presented = digest(token);
    let found: TokenEntry | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, presented)) found = t;
    return found;
  }

  private checkUuids(hello: HelloBody, key: string, required: readonly (string | undefined)[], missingOk = false): AtpError | undefined {
    const presented = hello.vmUuid;
    for (const expected of required) {
      if (expected === undefined || presented === expected || (missingOk && presented === undefined)) continue;
      const said = presented === undefined ? 'no vmUuid' : `VM ${presented}`;
      return identityError(`${key} is bound to VM ${expected} but the hello (agentId ${hello.agentId}) presented ${said}`, {
        key,
        expectedVmUuid: expected,
        presentedVmUuid: presented ?? null,
        agentId: hello.agentId,
      });
    }
    return undefined;
  }
}

function identityError(message: string, details: Record<string, unknown>): AtpError {
  return new AtpError('ATP_HUB_IDENTITY', message, { details });
}

/** The same refusal an unbound hub gives (message and details unchanged), plus the channel's key when there is one. */
function authError(agentId: string, key: string | undefined): AtpError {
  const where = key === undefined ? '' : ` on ${key}'s channel`;
  return new AtpError('ATP_HUB_AUTH', `token refused for agent ${agentId}${where}`, { details: key === undefined ? { agentId } : { agentId, key } });
}
