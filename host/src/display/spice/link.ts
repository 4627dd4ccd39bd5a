/**
 * One SPICE channel's link handshake over a fresh stream: link message →
 * link reply (with the ticket key) → auth mechanism (SPICE ticket, when the
 * server offers auth selection) → encrypted ticket → link result. Resolves
 * with the linked stream, the header kind both sides agreed on, and any bytes
 * that already followed the link result.
 *
 * Typed failures: ATP_SPICE_CONNECT (no stream, TLS refused, the channel wants
 * TLS or plain, or no answer in time), ATP_SPICE_AUTH (PERMISSION_DENIED: wrong,
 * missing or expired password), ATP_SPICE_SESSION_TAKEN (BAD_CONNECTION_ID on a
 * secondary channel: the session it names is gone), ATP_SPICE_CLOSED (the
 * server hung up mid-link), ATP_SPICE_PROTOCOL (anything malformed).
 */
import type net from 'node:net';
import { AtpError, type AtpErrorCode } from '@atp/protocol';
import { describeEndpoint, type DisplayEndpoint } from '../endpoint.js';
import { timerDelay } from '../../util/timers.js';
import type { HeaderKind } from './codec.js';
import { ChannelType, channelName, CommonCap, linkErrorName } from './constants.js';
import { capsWords, decodeLinkHeader, decodeLinkReply, decodeLinkResult, encodeAuthMechanism, encodeLinkMess, hasCap, LINK_HEADER_BYTES } from './link-codec.js';
import { encryptTicket } from './ticket.js';
import { openSpiceStream } from './transport.js';

export interface LinkRequest {
  channelType: number;
  channelId: number;
  /** 0 for the main channel; the session id for the others. */
  connectionId: number;
  channelCaps?: readonly number[];
}

export interface LinkedStream {
  socket: net.Socket;
  header: HeaderKind;
  /** Bytes received after the link result (the first channel messages). */
  leftover: Uint8Array;
  serverChannelCaps: readonly number[];
}

const CLIENT_COMMON_CAPS = capsWords([CommonCap.authSelection, CommonCap.authSpice, CommonCap.miniHeader]);

/** Reads exact byte counts from a socket during the link; every failure is an AtpError. */
class ExactReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private waiter: { count: number; resolve: (b: Uint8Array) => void; reject: (e: AtpError) => void } | undefined;
  private failure: AtpError | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    this.serve();
  };
  private readonly onEnd = (): void => this.fail(new AtpError('ATP_SPICE_CLOSED', `the SPICE server ${this.where} closed the ${this.channel} channel during the link`, { details: { endpoint: this.where } }));
  private readonly onError = (cause: Error): void =>
    this.fail(new AtpError('ATP_SPICE_CLOSED', `the ${this.channel} channel to ${this.where} failed during the link: ${cause.message}`, { cause, details: { endpoint: this.where } }));

  constructor(
    private readonly socket: net.Socket,
    private readonly where: string,
    private readonly channel: string,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  read(count: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.waiter = { count, resolve, reject };
      this.serve();
    });
  }

  fail(error: AtpError): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }

  /** Stops listening; returns what arrived beyond the last read. */
  detach(): Uint8Array {
    // Paused, the socket buffers what arrives until the channel takes it over and resumes it.
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    return new Uint8Array(Buffer.concat(this.chunks));
  }

  private serve(): void {
    const waiter = this.waiter;
    if (waiter === undefined || this.size < waiter.count) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = all.byteLength > waiter.count ? [all.subarray(waiter.count)] : [];
    this.size -= waiter.count;
    this.waiter = undefined;
    waiter.resolve(new Uint8Array(all.subarray(0, waiter.count)));
  }
}

function linkFailure(code: number, channel: string, where: string): AtpError {
  const name = linkErrorName(code);
  const details = { endpoint: where, channel, linkError: name };
  const table: Record<string, [AtpErrorCode, string]> = {
    PERMISSION_DENIED: ['ATP_SPICE_AUTH', `the SPICE server ${where} refused the ticket for the ${channel} channel (wrong or missing password, or the password expired)`],
    NEED_SECURED: ['ATP_SPICE_CONNECT', `the SPICE server ${where} wants TLS for the ${channel} channel: connect to its tls-port with the CA`],
    NEED_UNSECURED: ['ATP_SPICE_CONNECT', `the SPICE server ${where} wants the ${channel} channel without TLS: connect to its plain port`],
    BAD_CONNECTION_ID: ['ATP_SPICE_SESSION_TAKEN', `the SPICE server ${where} no longer knows this client's session when linking the ${channel} channel: another client took the session`],
    CHANNEL_NOT_AVAILABLE: ['ATP_SPICE_PROTOCOL', `the SPICE server ${where} has no ${channel} channel`],
  };
  const [atpCode, message] = table[name] ?? ['ATP_SPICE_PROTOCOL', `the SPICE server ${where} refused the ${channel} channel link: ${name}`];
  return new AtpError(atpCode, message, { details });
}

async function handshake(socket: net.Socket, reader: ExactReader, endpoint: DisplayEndpoint, request: LinkRequest, channel: string, where: string): Promise<Omit<LinkedStream, 'socket' | 'leftover'>> {
  const unwrap = <T>(decoded: { ok: true; value: T } | { ok: false; error: AtpError }): T => {
    if (!decoded.ok) throw new AtpError(decoded.error.code, `${decoded.error.message} (${channel} channel, ${where})`, { details: { ...decoded.error.details, endpoint: where } });
    return decoded.value;
  };
  socket.write(
    encodeLinkMess({ connectionId: request.connectionId, channelType: request.channelType, channelId: request.channelId, commonCaps: CLIENT_COMMON_CAPS, channelCaps: request.channelCaps ?? [] }),
  );
  const header = unwrap(decodeLinkHeader(await reader.read(LINK_HEADER_BYTES)));
  const reply = unwrap(decodeLinkReply(await reader.read(header.size)));
  if (reply.error !== 0) throw linkFailure(reply.error, channel, where);
  const ticket = encryptTicket(reply.publicKey, endpoint.password);
  if (hasCap(reply.commonCaps, CommonCap.authSelection)) {
    if (!hasCap(reply.commonCaps, CommonCap.authSpice)) {
      throw new AtpError('ATP_SPICE_AUTH', `the SPICE server ${where} does not offer ticket authentication (SASL only?) for the ${channel} channel`, { details: { endpoint: where, channel } });
    }
    socket.write(encodeAuthMechanism(CommonCap.authSpice));
  }
  socket.write(ticket);
  const result = unwrap(decodeLinkResult(await reader.read(4)));
  if (result !== 0) throw linkFailure(result, channel, where);
  return { header: hasCap(reply.commonCaps, CommonCap.miniHeader) ? 'mini' : 'full', serverChannelCaps: reply.channelCaps };
}

/** Opens a stream and links one channel within `timeoutMs` (stream, TLS and link together). */
export async function linkChannel(endpoint: DisplayEndpoint, request: LinkRequest, timeoutMs: number): Promise<LinkedStream> {
  const where = describeEndpoint(endpoint);
  const channel = channelName(request.channelType);
  const started = Date.now();
  const socket = await openSpiceStream(endpoint, timeoutMs);
  const reader = new ExactReader(socket, where, channel);
  const left = Math.max(1, timeoutMs - (Date.now() - started));
  const timer = setTimeout(
    () => reader.fail(new AtpError('ATP_SPICE_CONNECT', `the SPICE server ${where} did not complete the ${channel} channel link within ${timeoutMs} ms`, { details: { endpoint: where, channel, timeoutMs } })),
    timerDelay(left),
  );
  try {
    const linked = await handshake(socket, reader, endpoint, request, channel, where);
    return { socket, leftover: reader.detach(), ...linked };
  } catch (error) {
    reader.detach();
    socket.on('error', () => undefined);
    socket.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Is a live SPICE server at the endpoint? Opens a stream (TLS included), sends
 * a link message for an inputs channel and waits for the link reply's header;
 * hangs up before any ticket. It cannot displace whoever holds the session:
 * spice-server drops clients only for a main-channel link with a valid ticket.
 * A bare connect would not do: a killed QEMU's listening socket outlives its
 * client sockets by a few ms (measured: about 2 ms) and still accepts.
 */
export async function answersLink(endpoint: DisplayEndpoint, connectionId: number, timeoutMs: number): Promise<boolean> {
  let socket: net.Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    socket = await openSpiceStream(endpoint, timeoutMs);
    const reader = new ExactReader(socket, describeEndpoint(endpoint), 'probe');
    timer = setTimeout(() => reader.fail(new AtpError('ATP_SPICE_CONNECT', 'probe timed out')), timerDelay(timeoutMs));
    socket.write(encodeLinkMess({ connectionId, channelType: ChannelType.inputs, channelId: 0, commonCaps: CLIENT_COMMON_CAPS, channelCaps: [] }));
    return decodeLinkHeader(await reader.read(LINK_HEADER_BYTES)).ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    socket?.on('error', () => undefined);
    socket?.destroy();
  }
}

