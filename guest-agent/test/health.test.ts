import { describe, expect, it } from 'vitest';
import { AtpError, MAX_HELLO_PROBLEMS, type AgentProblem } from '@atp/protocol';
import { ProblemLog } from '../src/health/problems.js';
import { Watchdog } from '../src/health/watchdog.js';

const quietLog = { warn: (): void => undefined, info: (): void => undefined };

describe('ProblemLog', () => {
  it('keeps one entry per code and subject, newest last, and tells listeners about each change', () => {
    let now = 100;
    const log = new ProblemLog(() => now);
    const heard: AgentProblem[] = [];
    log.onProblem((p) => heard.push(p));
    log.report(new AtpError('ATP_CAPTURE_DEVICE_LIMIT', 'event9 not captured', { details: { device: 'event9' } }));
    now = 200;
    log.report(new AtpError('ATP_CAPTURE_DEVICE_LIMIT', 'event9 still not captured', { details: { device: 'event9' } }));
    log.report(new AtpError('ATP_CAPTURE_DEVICE_LIMIT', 'event10 not captured', { details: { device: 'event10' } }));
    expect(log.list().map((p) => [p.message, p.since])).toEqual([
      ['event9 still not captured', 100],
      ['event10 not captured', 200],
    ]);
    expect(heard).toHaveLength(3);
  });

  it('marks a problem resolved once, and a later report of it starts a new episode', () => {
    let now = 1;
    const log = new ProblemLog(() => now);
    log.report(new AtpError('ATP_AGENT_STALLED', 'link stuck', { details: { part: 'link' } }));
    now = 5;
    expect(log.resolve('ATP_AGENT_STALLED', { part: 'link' })?.resolvedAt).toBe(5);
    expect(log.resolve('ATP_AGENT_STALLED', { part: 'link' })).toBeUndefined();
    now = 9;
    log.report(new AtpError('ATP_AGENT_STALLED', 'link stuck again', { details: { part: 'link' } }));
    expect(log.list()).toEqual([{ code: 'ATP_AGENT_STALLED', message: 'link stuck again', since: 9, details: { part: 'link' } }]);
  });

  it('holds at most MAX_HELLO_PROBLEMS, dropping the oldest', () => {
    const log = new ProblemLog(() => 0);
    for (let i = 0; i < MAX_HELLO_PROBLEMS + 5; i++) log.report(new AtpError('ATP_CAPTURE_DEVICE_OPEN', `event${i}`, { details: { device: `event${i}` } }));
    const list = log.list();
    expect(list).toHaveLength(MAX_HELLO_PROBLEMS);
    expect(list[0]?.message).toBe('event5');
  });
});

describe('Watchdog', () => {
  function rig(boundMs = 1000): { dog: Watchdog; problems: ProblemLog; advance: (ms: number) => void; probes: (() => void)[] } {
    let now = 0;
    const problems = new ProblemLog(() => now);
    const probes: (() => void)[] = [];
    const dog = new Watchdog({ problems, log: quietLog, boundMs, clock: () => now, probe: (done) => probes.push(done) });
    return { dog, problems, probes, advance: (ms) => (now += ms) };
  }

  it('reports a part waiting past the bound once, with what it waits for, and resolves it when the part moves', () => {
    const { dog, problems, advance } = rig();
    dog.waiting('link', 'a welcome from the host');
    advance(999);
    expect(dog.check()).toEqual([]);
    dog.waiting('link', 'a welcome from the host (last failure: ATP_AGENT_CONNECT)'); // keeps its start
    advance(1);
    expect(dog.check()).toEqual(['link']);
    advance(5000);
    expect(dog.check()).toEqual(['link']);
    expect(problems.list()).toMatchObject([{ code: 'ATP_AGENT_STALLED', since: 1000, details: { part: 'link', what: 'a welcome from the host (last failure: ATP_AGENT_CONNECT)' } }]);
    dog.fine('link');
    expect(problems.list()[0]?.resolvedAt).toBe(6000);
    expect(problems.list()[0]?.message).toMatch(/link was stuck for 6 s/);
    expect(dog.check()).toEqual([]);
  });

  it('says nothing about a part that moves within the bound', () => {
    const { dog, problems, advance } = rig();
    dog.waiting('capture', 'linux-evdev capture to start');
    advance(500);
    dog.fine('capture');
    advance(5000);
    expect(dog.check()).toEqual([]);
    expect(problems.list()).toEqual([]);
  });

  it('names the libuv threadpool when its probe does not come back', () => {
    const { dog, problems, probes, advance } = rig();
    dog.start();
    try {
      expect(probes).toHaveLength(1); // one probe in flight at a time
      advance(1500);
      expect(dog.check()).toEqual(['threadpool']);
      expect(problems.list()[0]).toMatchObject({ code: 'ATP_AGENT_STALLED', details: { part: 'threadpool' } });
      probes[0]?.();
      expect(problems.list()[0]?.resolvedAt).toBe(1500);
    } finally {
      dog.stop();
    }
  });
});
