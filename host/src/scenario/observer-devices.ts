/**
 * What the report says about the observer itself: which of its devices
 * delivered input during the suite (so a reader sees whether the keys came in
 * through the PS/2, virtio or USB keyboard), which came and went, and the
 * problems the agent reported about itself (in its hello or during the suite).
 * Pure.
 */
import { problemSubject, type AgentProblem, type DeviceInfo, type ObservedEvent, type ReportDevice } from '@atp/protocol';
import type { HubNotice } from './observer-feedback.js';

export function deviceUsage(observed: readonly ObservedEvent[], known: readonly DeviceInfo[] = []): ReportDevice[] {
  const rows = new Map<string, ReportDevice>();
  const row = (id: string): ReportDevice => {
    let r = rows.get(id);
    if (r === undefined) {
      r = { id, events: 0 };
      rows.set(id, r);
    }
    return r;
  };
  const names = new Map(known.map((d) => [d.id, d]));
  for (const ev of observed) {
    if (ev.kind === 'device') {
      names.set(ev.device, ev.info);
      const r = row(ev.device);
      if (ev.change === 'added') r.added = true;
      else r.removed = true;
    } else if (ev.kind === 'key' || ev.kind === 'button' || ev.kind === 'rel' || ev.kind === 'abs' || ev.kind === 'wheel') row(ev.device).events++;
  }
  return [...rows.values()].map((r) => {
    const info = names.get(r.id);
    return info === undefined ? r : { ...r, name: info.name, kind: info.kind };
  });
}

/** The agent's problems from its hello and from problem notices, one per code and subject (the latest word wins). */
export function agentProblems(hello: readonly AgentProblem[] | undefined, notices: readonly HubNotice[]): { code: string; message: string; resolved: boolean }[] {
  const latest = new Map<string, AgentProblem>();
  const add = (p: AgentProblem): void => void latest.set(`${p.code}:${problemSubject(p.details)}:${p.since}`, p);
  for (const p of hello ?? []) add(p);
  for (const n of notices) {
    if (n.kind === 'problem') add(n.problem);
    else if (n.kind === 'connected') for (const p of n.hello.problems ?? []) add(p);
  }
  return [...latest.values()].map((p) => ({ code: p.code, message: p.message, resolved: p.resolvedAt !== undefined }));
}
