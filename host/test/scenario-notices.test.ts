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

  it('ignores a gap from seq 1: the hub met this boot mid-stream, the earlier events went to an earlier hub', () => {
    expect(noticeFindings([gap(1, 370)])).toEqual([]);
  });
});
