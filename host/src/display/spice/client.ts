/**
 * SpiceClient: a SPICE session as a thin client opens it, reduced to input.
 *
 * connect(): link the main channel (new session) → INIT (session id, mouse
 * modes) → MOUSE_MODE_REQUEST when another mode is asked for, then wait for the
 * server's MOUSE_MODE → ATTACH_CHANNELS → CHANNELS_LIST → link the inputs
 * channel with the session id → its INIT (lock-key state). With
 * `watchDisplay`, the display channel too: DISPLAY_INIT, then the primary
 * SURFACE_CREATE gives the surface size (spice-server scales client-mode
 * positions to it); later surfaces update it. `handshakeMs` is the time from
 * the first connect to ready.
 *
 * Mouse motion flow control: the server acks every 4th MOUSE_MOTION /
 * MOUSE_POSITION; like spice-gtk, at most 8 may be unacked, so a motion waits
 * for an ack slot (bounded by timeoutMs).
 *
 * When a channel goes down without close(), the whole client is down. QEMU's
 * SPICE server sends nothing before it drops a client for a new one
 * (reds_handle_main_link disconnects every client first, no DISCONNECTING or
 * NOTIFY), so the cause is found by probing (link.ts answersLink): if the
 * address still answers a link message, the server is alive and dropped us →
 * ATP_SPICE_SESSION_TAKEN; if not, → ATP_SPICE_CLOSED (QEMU gone). Every waiter
 * and later send rejects with that one error (`ended` resolves with it).
 */
import { AtpError } from '@atp/protocol';
import { describeEndpoint, type DisplayEndpoint } from '../endpoint.js';
import { hostNow } from '../../util/clock.js';
import type { SpiceFrame } from './codec.js';
import { SpiceChannel } from './channel.js';
import { ChannelType, MOTION_ACK_BUNCH, MouseMode, mouseModeNames, SURFACE_FLAG_PRIMARY, type SpiceMouseMode } from './constants.js';
import { decodeDisplayServerMessage, encodeDisplayClientMessage } from './display-codec.js';
import { decodeInputsServerMessage, encodeInputsClientMessage, type InputsClientMessage } from './inputs-codec.js';
import { answersLink, linkChannel } from './link.js';
import { decodeMainServerMessage, encodeMainClientMessage, type ChannelId, type MainInit } from './main-codec.js';
import { Waiters } from './waiters.js';

/** `mouseMode: 'auto'`: how long to wait for client mode to be offered before settling for server mode. */
export const AUTO_CLIENT_WAIT_MS = 2000;

export interface SpiceClientOptions {
  /** Ask the server for this mouse mode; 'auto': client mode when offered, else the server's (default: keep the server's). */
  mouseMode?: SpiceMouseMode | 'auto';
  /** Open the display channel to learn the primary surface size (default false). */
  watchDisplay?: boolean;
  /** Bound on connect (each channel link, each awaited message) and on a motion's wait for an ack slot (default 10000). */
  timeoutMs?: number;
  /** Bound on the liveness probe after a drop (default 2000). */
  probeTimeoutMs?: number;
  /** NOTIFY texts from the server ("keyboard channel is insecure"). */
  onNotify?: (text: string) => void;
}

export interface SurfaceSize {
  width: number;
  height: number;
}

const MAX_UNACKED_MOTIONS = 2 * MOTION_ACK_BUNCH;

export class SpiceClient {
  private main: SpiceChannel | undefined;
  private inputs: SpiceChannel | undefined;
  private display: SpiceChannel | undefined;
  private init: MainInit | undefined;
  private channels: ChannelId[] | undefined;
  private modes = { supported: 0, current: 0 };
  private inputsReady = false;
  private surfaceSize: SurfaceSize | undefined;
  private motionsSent = 0;
  private motionAcks = 0;
  private closing = false;
  private endedWith: Promise<AtpError> | undefined;
  private readonly waiters = new Waiters();
  private readonly where: string;
  private readonly timeoutMs: number;
  /** The keyboard lock state the server last reported (SPICE_KEYBOARD_MODIFIER_FLAGS). */
  lockModifiers = 0;
  /** ms from the first connect to ready. */
  handshakeMs = 0;

  private constructor(
    private readonly endpoint: DisplayEndpoint,
    private readonly options: SpiceClientOptions,
  ) {
    this.where = describeEndpoint(endpoint);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  static async connect(endpoint: DisplayEndpoint, options: SpiceClientOptions = {}): Promise<SpiceClient> {
    const client = new SpiceClient(endpoint, options);
    const started = hostNow();
    try {
      await client.open();
    } catch (error) {
      await client.close();
      throw error;
    }
    client.handshakeMs = hostNow() - started;
    return client;
  }

  get sessionId(): number {
    return this.init?.sessionId ?? 0;
  }

  get mouseMode(): SpiceMouseMode | undefined {
    return mouseModeNames(this.modes.current)[0];
  }

  get supportedMouseModes(): SpiceMouseMode[] {
    return mouseModeNames(this.modes.supported);
  }

  /** The primary display surface (watchDisplay only; undefined until the server sends it). */
  get surface(): SurfaceSize | undefined {
    return this.surfaceSize;
  }

  /** Resolves with the error that ended the session (undefined while it is up). */
  get ended(): Promise<AtpError> | undefined {
    return this.endedWith;
  }

  private timeout(what: string): () => AtpError {
    return () => new AtpError('ATP_SPICE_PROTOCOL', `the SPICE server ${this.where} did not send ${what} within ${this.timeoutMs} ms`, { details: { endpoint: this.where, waitedFor: what } });
  }

  private async link(type: number, onFrame: (channel: SpiceChannel, frame: SpiceFrame) => void): Promise<SpiceChannel> {
    const linked = await linkChannel(this.endpoint, { channelType: type, channelId: 0, connectionId: this.sessionId }, this.timeoutMs);
    const name = type === ChannelType.main ? 'main' : type === ChannelType.inputs ? 'inputs' : 'display';
    const channel: SpiceChannel = new SpiceChannel(linked, name, this.where, {
      onFrame: (frame) => onFrame(channel, frame),
      onNotify: (text) => this.options.onNotify?.(text),
      onDown: (error, byOwner) => {
        if (!byOwner) this.fail(error);
      },
    });
    return channel;
  }

  private async open(): Promise<void> {
    this.main = await this.link(ChannelType.main, (channel, frame) => this.onMain(channel, frame));
    await this.waiters.until(() => this.init !== undefined, this.timeoutMs, this.timeout('the main channel INIT'));
    const wanted = this.options.mouseMode;
    if (wanted === 'auto') {
      // The guest's tablet becomes QEMU's pointer when the guest first polls it: give it a moment before settling for server mode.
      const offered = (): boolean => this.supportedMouseModes.includes('client');
      const notYet = new AtpError('ATP_SPICE_MOUSE_MODE', 'client mouse mode not offered yet');
      const settled = await this.waiters.until(offered, AUTO_CLIENT_WAIT_MS, () => notYet).then(
        () => true,
        (error: unknown) => {
          if (error !== notYet) throw error; // the connection failed meanwhile
          return false;
        },
      );
      if (settled) await this.switchMouseMode('client');
    } else if (wanted !== undefined) await this.switchMouseMode(wanted);
    await this.main.send(encodeMainClientMessage({ kind: 'attachChannels' }));
    await this.waiters.until(() => this.channels !== undefined, this.timeoutMs, this.timeout('the channel list'));
    if (!this.channels?.some((c) => c.type === ChannelType.inputs)) {
      throw new AtpError('ATP_SPICE_PROTOCOL', `the SPICE server ${this.where} offers no inputs channel`, { details: { endpoint: this.where } });
    }
    this.inputs = await this.link(ChannelType.inputs, (channel, frame) => this.onInputs(channel, frame));
    await this.waiters.until(() => this.inputsReady, this.timeoutMs, this.timeout('the inputs channel INIT'));
    // The surface size only matters to client-mode positions.
    if (this.options.watchDisplay === true && this.mouseMode === 'client') {
      this.display = await this.link(ChannelType.display, (channel, frame) => this.onDisplay(channel, frame));
      await this.display.send(encodeDisplayClientMessage({ kind: 'init', pixmapCacheId: 1, pixmapCacheSize: 1n << 20n, glzDictionaryId: 1, glzDictionaryWindowSize: 1 << 20 }));
      await this.waiters.until(() => this.surfaceSize !== undefined, this.timeoutMs, () =>
        new AtpError('ATP_SPICE_MOUSE_MODE', `the SPICE server ${this.where} sent no primary display surface within ${this.timeoutMs} ms; client mouse mode scales positions to it (give the surface size instead)`, {
          details: { endpoint: this.where },
        }),
      );
    }
  }

  /** Asks for a mouse mode and waits for the server to announce it; ATP_SPICE_MOUSE_MODE when it is not offered. */
  async switchMouseMode(mode: SpiceMouseMode): Promise<void> {
    const flag = MouseMode[mode];
    const offered = this.supportedMouseModes.join(', ') || 'none';
    if ((this.modes.supported & flag) === 0) {
      const hint = mode === 'client' ? ' (client mode needs an absolute pointing device in use, such as a usb-tablet, and one display)' : '';
      throw new AtpError('ATP_SPICE_MOUSE_MODE', `the SPICE server ${this.where} does not offer ${mode} mouse mode; it offers: ${offered}${hint}`, {
        details: { endpoint: this.where, asked: mode, offered: this.supportedMouseModes },
      });
    }
    if (this.modes.current === flag) return;
    await this.mainChannel().send(encodeMainClientMessage({ kind: 'mouseModeRequest', mode: flag }));
    await this.waiters.until(() => this.modes.current === flag, this.timeoutMs, () =>
      new AtpError('ATP_SPICE_MOUSE_MODE', `the SPICE server ${this.where} did not switch to ${mode} mouse mode within ${this.timeoutMs} ms (offered: ${offered})`, {
        details: { endpoint: this.where, asked: mode },
      }),
    );
  }

  private mainChannel(): SpiceChannel {
    if (this.main === undefined) throw new AtpError('ATP_SPICE_CLOSED', `the SPICE client for ${this.where} is not connected`, { details: { endpoint: this.where } });
    return this.main;
  }

  private onMain(channel: SpiceChannel, frame: SpiceFrame): void {
    const decoded = decodeMainServerMessage(frame.type, frame.body);
    if (!decoded.ok) return channel.failProtocol(decoded.error);
    const m = decoded.value;
    if (m.kind === 'init') {
      this.init = m;
      this.modes = { supported: m.supportedMouseModes, current: m.currentMouseMode };
    } else if (m.kind === 'channelsList') this.channels = m.channels;
    else if (m.kind === 'mouseMode') this.modes = { supported: m.supported, current: m.current };
    this.waiters.poke();
  }

  private onInputs(channel: SpiceChannel, frame: SpiceFrame): void {
    const decoded = decodeInputsServerMessage(frame.type, frame.body);
    if (!decoded.ok) return channel.failProtocol(decoded.error);
    const m = decoded.value;
    if (m.kind === 'init' || m.kind === 'keyModifiers') {
      this.lockModifiers = m.modifiers;
      this.inputsReady = true;
    } else if (m.kind === 'motionAck') this.motionAcks += 1;
    this.waiters.poke();
  }

  private onDisplay(channel: SpiceChannel, frame: SpiceFrame): void {
    const decoded = decodeDisplayServerMessage(frame.type, frame.body);
    if (!decoded.ok) return channel.failProtocol(decoded.error);
    const m = decoded.value;
    if (m.kind === 'surfaceCreate' && (m.surfaceId === 0 || (m.flags & SURFACE_FLAG_PRIMARY) !== 0)) this.surfaceSize = { width: m.width, height: m.height };
    else if (m.kind === 'surfaceDestroy' && m.surfaceId === 0) this.surfaceSize = undefined;
    this.waiters.poke();
  }

  /** MOUSE_MOTION / MOUSE_POSITION the server has not acked yet. */
  get unackedMotions(): number {
    return this.motionsSent - MOTION_ACK_BUNCH * this.motionAcks;
  }

  /**
   * Sends one inputs message; `beforeWrite` runs right before its bytes are
   * written (after any wait for a motion ack slot). Rejects with the session's
   * end (ATP_SPICE_SESSION_TAKEN / ATP_SPICE_CLOSED / ATP_SPICE_PROTOCOL).
   */
  async sendInput(message: InputsClientMessage, beforeWrite?: () => void): Promise<void> {
    try {
      if (this.endedWith) throw await this.endedWith;
      const inputs = this.inputs;
      if (inputs === undefined || this.closing) throw new AtpError('ATP_SPICE_CLOSED', `the SPICE client for ${this.where} is closed`, { details: { endpoint: this.where } });
      const motion = message.kind === 'mouseMotion' || message.kind === 'mousePosition';
      if (motion) {
        await this.waiters.until(() => this.unackedMotions < MAX_UNACKED_MOTIONS, this.timeoutMs, this.timeout(`a MOUSE_MOTION_ACK (${this.unackedMotions} motions unacked)`));
        this.motionsSent += 1;
      }
      await inputs.send(encodeInputsClientMessage(message), beforeWrite);
    } catch (error) {
      // A channel's own error (a write to a dropped socket) becomes the session's verdict.
      if (this.endedWith && error instanceof AtpError && error.code === 'ATP_SPICE_CLOSED' && !this.closing) throw await this.endedWith;
      throw error;
    }
  }

  private fail(cause: AtpError): void {
    if (this.endedWith) return;
    this.endedWith = this.conclude(cause);
    for (const channel of [this.main, this.inputs, this.display]) channel?.close();
    void this.endedWith.then((error) => this.waiters.failAll(error));
  }

  private async conclude(cause: AtpError): Promise<AtpError> {
    if (cause.code !== 'ATP_SPICE_CLOSED' || this.closing) return cause;
    const alive = await answersLink(this.endpoint, this.sessionId, this.options.probeTimeoutMs ?? 2000);
    const details = { endpoint: this.where, sessionId: this.sessionId, probe: alive ? 'answered' : 'no answer' };
    if (alive) {
      return new AtpError(
        'ATP_SPICE_SESSION_TAKEN',
        `the SPICE server ${this.where} dropped this client (session ${this.sessionId}) and still answers SPICE links: another SPICE client took the session (QEMU serves one at a time), or the password was changed or expired`,
        { cause, details },
      );
    }
    return new AtpError('ATP_SPICE_CLOSED', `${cause.message}, and nothing at ${this.where} answers a SPICE link any more: the SPICE server (QEMU) is gone`, { cause, details });
  }

  /** Closes every channel; pending sends and waits reject ATP_SPICE_CLOSED. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const error = new AtpError('ATP_SPICE_CLOSED', `the SPICE client for ${this.where} was closed by its owner`, { details: { endpoint: this.where } });
    this.endedWith ??= Promise.resolve(error);
    this.waiters.failAll(error);
    for (const channel of [this.main, this.inputs, this.display]) channel?.close();
    await Promise.resolve();
  }
}
