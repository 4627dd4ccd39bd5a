import { describe, expect, it } from 'vitest';
import { noticeFindings } from '../src/scenario/checkpoints.js';
import type { HubNotice } from '../src/scenario/observer-feedback.js';

const gap = (expected: number, got: number): HubNotice => ({ kind: 'gap', agentId: 'a', bootId: 'b', index: 0, receivedAt: 0, expected, got });

describe('hub notices become report findings', () => {
  it('reports events lost in the middle of a boot as an incomplete observation', () => {
    const findings = noticeFindings([gap(41, 45)]);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.kind).toBe('error');
    expect(findings[0]?.message).toContain('41..44 never reached the hub');
  });

  it('reports the agent session ending, and whether and when it came back', () => {
    const common = { agentId: 'a', bootId: 'b', sessionId: 's' };
    const down: HubNotice = { ...common, kind: 'disconnected', index: 3, receivedAt: 1000, reason: { code: 'ATP_HUB_CONNECTION', message: 'the channel closed' }, lastSeq: 9 };
    const up: HubNotice = { ...common, kind: 'connected', index: 4, receivedAt: 7500, transport: 'virtio', remote: 'x', hello: { version: '1', os: { platform: 'linux', release: '6.1', arch: 'x64' }, captureBackends: [], capabilities: [], lastSeq: 9, unacked: 0, overflowed: 0 }, ackedSeq: 9 };
    expect(noticeFindings([down]).map((f) => f.message)).toEqual([`the agent's session ended during the suite (ATP_HUB_CONNECTION: the channel closed); it did not come back during the suite`]);
    expect(noticeFindings([down, up]).map((f) => f.message)).toEqual([`the agent's session ended during the suite (ATP_HUB_CONNECTION: the channel closed); it came back 6500 ms later`]);
  });

  it('ignores a gap from seq 1: the hub met this boot mid-stream, the earlier events went to an earlier hub', () => {
    expect(noticeFindings([gap(1, 370)])).toEqual([]);
  });
});
