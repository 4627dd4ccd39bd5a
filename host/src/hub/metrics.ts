/** The hub's counters: plain numbers, read through hub.metrics(). */

export interface HubCounters {
  /** Connections accepted from listeners and channels. */
  connections: number;
  /** Connections refused at the session limit. */
  connectionsRefused: number;
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
  /** Bad frames, all reasons. */
  badFramesTotal: number;
}
