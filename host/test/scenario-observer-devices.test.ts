import { describe, expect, it } from 'vitest';
import type { ObservedEvent } from '@atp/protocol';
import { formatSummary } from '../src/report/index.js';
import type { HubNotice } from '../src/scenario/index.js';
import { agentProblems, deviceUsage } from '../src/scenario/observer-devices.js';

const at = { seq: 1, t: 0 };
const kbd = { id: 'event0', name: 'AT Translated Set 2 keyboard', kind: 'keyboard' as const };
const usb = { id: 'event9', name: 'QEMU QEMU USB Keyboard', kind: 'keyboard' as const };

describe('observer devices in the report', () => {
  it('counts input per device, names devices from the hello or their device events, and marks hotplug', () => {
    const observed: ObservedEvent[] = [
      { ...at, kind: 'key', device: 'event0', key: 'KEY_A', action: 'down' },
      { ...at, kind: 'key', device: 'event0', key: 'KEY_A', action: 'up' },
      { ...at, kind: 'device', device: 'event9', change: 'added', info: usb },
      { ...at, kind: 'abs', device: 'event4', x: 1, y: 2 },
      { ...at, kind: 'device', device: 'event9', change: 'removed', info: usb },
    ];
    expect(deviceUsage(observed, [kbd])).toEqual([
      { id: 'event0', events: 2, name: 'AT Translated Set 2 keyboard', kind: 'keyboard' },
      { id: 'event9', events: 0, added: true, removed: true, name: 'QEMU QEMU USB Keyboard', kind: 'keyboard' },
      { id: 'event4', events: 1 },
    ]);
  });

  it('merges the problems of the hello and of the notices, one per code, subject and episode', () => {
    const stall = { code: 'ATP_AGENT_STALLED', message: 'link stuck', since: 10, details: { part: 'link' } };
    const notices: HubNotice[] = [
      { kind: 'problem', agentId: 'a', bootId: 'b', index: 3, receivedAt: 0, problem: { ...stall, message: 'link was stuck; it moved again', resolvedAt: 20 } },
      { kind: 'problem', agentId: 'a', bootId: 'b', index: 4, receivedAt: 0, problem: { code: 'ATP_CAPTURE_DEVICE_LIMIT', message: 'event99 not captured', since: 30, details: { device: 'event99' } } },
    ];
    expect(agentProblems([stall], notices)).toEqual([
      { code: 'ATP_AGENT_STALLED', message: 'link was stuck; it moved again', resolved: true },
      { code: 'ATP_CAPTURE_DEVICE_LIMIT', message: 'event99 not captured', resolved: false },
    ]);
  });

  it('prints which devices delivered input, hotplug and agent problems in the summary', () => {
    const text = formatSummary(
      {
        version: 1,
        tool: { name: 'atp', version: '0' },
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:00:01.000Z',
        suites: [
          {
            name: 's',
            target: { vm: 'lab', injector: 'qmp', inputDevice: 'virtio keyboard' },
            observer: { kind: 'agent' },
            verdict: 'pass',
            durationMs: 1000,
            counts: { expected: 2, matched: 2, missing: 0, extra: 0, duplicate: 0, reordered: 0, stuck: 0, wrongKey: 0, wrongModifier: 0, wrongText: 0, unexpectedRepeat: 0, syncDropped: 0 },
            findings: [],
            devices: [
              { id: 'event5', name: 'QEMU Virtio Keyboard', kind: 'keyboard', events: 2 },
              { id: 'event9', events: 0, added: true, removed: true },
            ],
            agentProblems: [{ code: 'ATP_CAPTURE_DEVICE_LIMIT', message: 'not capturing event99', resolved: false }],
          },
        ],
      },
      { color: false },
    );
    expect(text).toContain('input via: QEMU Virtio Keyboard (event5) 2 events; hotplug: +event9 -event9');
    expect(text).toContain('agent reports ATP_CAPTURE_DEVICE_LIMIT: not capturing event99');
  });
});
