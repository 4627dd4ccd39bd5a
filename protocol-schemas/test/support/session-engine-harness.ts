/**
 * A fake world around the session engine for property tests: a clock the test
 * moves, the timers the engine armed (with their due times), the connection's
 * state, and a model hub that commits what reaches it and acks cumulatively.
 * No sockets and no real timers: every decision is carried out on this model.
 */
import { AtpError } from '../../src/errors.js';
import { ReliableSender } from '../../src/delivery.js';
import { SessionEngine } from '../../src/session/engine.js';
import type { SessionDecision, SessionEngineOptions, SessionInput, SessionTimer, ObserverIdentity } from '../../src/session/types.js';
import type { AgentMessage, ObservedEvent } from '../../src/agent-protocol.js';

export const IDENTITY: ObserverIdentity = {
  agentId: 'prop-agent',
  bootId: 'boot-prop',
  os: { platform: 'linux', release: '6.1', arch: 'x64' },
  captureBackends: ['linux-evdev'],
  capabilities: ['events', 'ping'],
  version: '0.1.0',
  token: 't',
};

/** An input whose `now` defaults to the rig's clock. */
export type RigInput = SessionInput extends infer I ? (I extends unknown ? Omit<I, 'now'> & { now?: number } : never) : never;

export type EngineOptions = Partial<Omit<SessionEngineOptions, 'sender'>>;

export class EngineRig {
  readonly sender = new ReliableSender({ bootId: IDENTITY.bootId, capacity: 1_000_000 });
  readonly engine: SessionEngine;
  now = 1_000;
  readonly timers = new Map<SessionTimer, number>();
  /** Every decision, in order. */
  readonly decisions: SessionDecision[] = [];
  linked = false;
  connectPending = false;
  writing = false;
  /** Seqs in frames written on the current connection but not yet delivered to the hub. */
  wire: number[] = [];
  /** What the hub committed (it dedupes by seq). */
  readonly hub = new Set<number>();
  /** The first seq of every first events frame after a welcome, with that welcome's ackedSeq. */
  readonly resumes: Array<{ ackedSeq: number | null; firstSeq: number }> = [];
  /** send-events decided while the previous one was still being written. */
  overlaps = 0;
  private awaitingResume: number | null | undefined;

  constructor(options: EngineOptions = {}) {
    this.engine = new SessionEngine({ sender: this.sender, random: () => 0.5, ...options });
  }

  feed(input: RigInput): SessionDecision[] {
    const out = this.engine.handle({ ...input, now: input.now ?? this.now } as SessionInput);
    for (const d of out) this.apply(d);
    this.decisions.push(...out);
    return out;
  }

  push(n: number): ObservedEvent[] {
    const events = Array.from({ length: n }, (_, i) => this.sender.push({ kind: 'key', key: 'KEY_A', action: 'down', t: this.now + i, device: 'event0' }));
    this.feed({ type: 'events-pushed' });
    return events;
  }

  /** Moves the clock to `at` and fires the timers due by then, earliest first. */
  advanceTo(at: number): void {
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t <= at).sort((a, b) => a[1] - b[1])[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1]);
      this.feed({ type: 'timer', timer: due[0] });
    }
    this.now = Math.max(this.now, at);
  }

  connectOk(): void {
    this.connectPending = false;
    this.linked = true;
    this.wire = [];
    this.feed({ type: 'connected', identity: IDENTITY, where: 'rig' });
  }

  connectFail(): void {
    this.connectPending = false;
    this.feed({ type: 'connect-failed', error: new AtpError('ATP_AGENT_CONNECT', 'refused') });
  }

  /** The hub's cumulative ack: the highest seq up to which it has everything. */
  hubAcked(): number | null {
    let seq = 0;
    while (this.hub.has(seq + 1)) seq++;
    return seq === 0 ? null : seq;
  }

  welcome(heartbeatMs = 5_000): void {
    const ackedSeq = this.hubAcked();
    this.awaitingResume = ackedSeq;
    this.frame({ v: 1, type: 'welcome', body: { sessionId: 's', ackedSeq, hostTime: this.now, heartbeatMs } });
  }

  frame(message: AgentMessage): SessionDecision[] {
    return this.feed({ type: 'frame', message });
  }

  /** The hub receives what is on the wire and acks cumulatively. */
  deliver(): void {
    for (const seq of this.wire) this.hub.add(seq);
    this.wire = [];
    const acked = this.hubAcked();
    if (acked !== null) this.frame({ v: 1, type: 'ack', body: { bootId: IDENTITY.bootId, seq: acked } });
  }

  written(): void {
    if (!this.writing) return;
    this.writing = false;
    this.feed({ type: 'written' });
  }

  /** The link drops on its own; frames still on the wire are lost. */
  cut(): void {
    if (!this.linked) return;
    this.linked = false;
    this.wire = [];
    this.writing = false;
    this.feed({ type: 'closed', error: new AtpError('ATP_AGENT_DISCONNECTED', 'cut') });
  }

  private apply(d: SessionDecision): void {
    switch (d.type) {
      case 'connect':
        this.connectPending = true;
        return;
      case 'arm':
        this.timers.set(d.timer, this.now + d.delayMs);
        return;
      case 'cancel':
        this.timers.delete(d.timer);
        return;
      case 'close':
        this.linked = false;
        this.wire = [];
        this.writing = false;
        return;
      case 'send-events': {
        if (this.writing) this.overlaps++;
        this.writing = true;
        const seqs = d.bodies.flatMap((b) => b.events.map((e) => e.seq));
        if (this.awaitingResume !== undefined && seqs.length > 0) {
          this.resumes.push({ ackedSeq: this.awaitingResume, firstSeq: seqs[0] ?? 0 });
          this.awaitingResume = undefined;
        }
        if (this.linked) this.wire.push(...seqs);
        return;
      }
      default:
        return;
    }
  }

  of<T extends SessionDecision['type']>(type: T, from = 0): Array<Extract<SessionDecision, { type: T }>> {
    return this.decisions.slice(from).filter((d): d is Extract<SessionDecision, { type: T }> => d.type === type);
  }
}
