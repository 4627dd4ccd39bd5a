/** The hub's counters: plain numbers, read through hub.metrics(). */

export interface HubCounters {
  /** Connections accepted from listeners and channels. */
  connections: number;
  /** Connections refused at the session limit. */
  connectionsRefused: number;
  /** Connections refused because their address already held maxPendingPerAddress awaiting hello. */
  pendingRefused: number;
  /** Connections awaiting hello closed to make room once maxPendingHellos waited. */
  pendingEvicted: number;
  /** Connections refused up front because their address sent too many bad hellos (ATP_HUB_AUTH_THROTTLED). */
  authThrottled: number;
  /** Connections closed because a frame they began did not end within frameTimeoutMs (slow senders). */
  frameTimeouts: number;
  /** Every connection or session the hub ended, by reason code (limits, timeouts, bad frames, auth, shutdown). */
  cuts: Record<string, number>;
  /** Sessions that passed hello and auth. */
  sessionsAdmitted: number;
  authFailures: number;
  /** Hellos refused because they do not match the VM their token or channel is bound to (ATP_HUB_IDENTITY). */
  identityRefusals: number;
  helloTimeouts: number;
  idleTimeouts: number;
  rateLimited: number;
  protocolErrors: number;
  /** Bad frames by reason code (ATP_FRAME_INVALID_JSON, ATP_FRAME_TOO_LARGE, ATP_SCHEMA_INVALID, ...). */
  badFrames: Record<string, number>;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  eventsDelivered: number;
  duplicates: number;
  /** Holes in the seq numbering (anomalies: a correct agent never skips). */
  gaps: number;
  /** Events missing in those holes. */
  gapMissing: number;
  acksSent: number;
  pingsSent: number;
  pongsReceived: number;
  pongsUnmatched: number;
  pingsAnswered: number;
  bootChanges: number;
  superseded: number;
  storeErrors: number;
  /** `error` messages received from agents. */
  peerErrors: number;
  /** Messages the hub accepts but has no consumer for yet (exec-result). */
  ignored: number;
}

export function newCounters(): HubCounters {
  return {
    connections: 0,
    connectionsRefused: 0,
    pendingRefused: 0,
    pendingEvicted: 0,
    authThrottled: 0,
    frameTimeouts: 0,
    cuts: {},
    sessionsAdmitted: 0,
    authFailures: 0,
    identityRefusals: 0,
    helloTimeouts: 0,
    idleTimeouts: 0,
    rateLimited: 0,
    protocolErrors: 0,
    badFrames: {},
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    eventsDelivered: 0,
    duplicates: 0,
    gaps: 0,
    gapMissing: 0,
    acksSent: 0,
    pingsSent: 0,
    pongsReceived: 0,
    pongsUnmatched: 0,
    pingsAnswered: 0,
    bootChanges: 0,
    superseded: 0,
    storeErrors: 0,
    peerErrors: 0,
    ignored: 0,
  };
}

export interface HubMetrics extends HubCounters {
  /** Open connections (admitted or not). */
  connectionsActive: number;
  /** Admitted sessions. */
  sessionsActive: number;
  /** Listener connections that have not completed hello yet. */
  connectionsAwaitingHello: number;
  /** Remote addresses the auth throttle currently remembers. */
  throttledAddresses: number;
  /** Bad frames, all reasons. */
  badFramesTotal: number;
}
