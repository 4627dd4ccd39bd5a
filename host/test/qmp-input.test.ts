/**
 * Injected input reaches QEMU's input core: every event shows up in QEMU's own
 * input_event_* trace with the qcode, button, axis and value we sent.
 * Trace lines look like `PID@SECS.USECS:input_event_key_qcode con -1, key qcode a, down 1`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputSendEvent, QmpClient, sendKey, type QmpInputEvent } from '../src/vm/qmp/index.js';
import { startQemu, type QemuInstance } from './support/qemu.js';

let qemu: QemuInstance;
let client: QmpClient;

beforeAll(async () => {
  qemu = await startQemu();
  client = await QmpClient.connect({ path: qemu.qmpPath });
});

afterAll(async () => {
  await client?.close();
  await qemu?.cleanup();
});

/** The trace lines after `from`, without the pid@time prefix and sync lines. */
async function eventsAfter(from: number, count: number): Promise<string[]> {
  const strip = (lines: string[]): string[] =>
    lines
      .slice(from)
      .map((l) => l.slice(l.indexOf(':') + 1).trim())
      .filter((l) => !l.startsWith('input_event_sync'));
  return strip(await qemu.waitForTrace((lines) => strip(lines).length >= count)).slice(0, count);
}

describe('input injection seen in the QEMU trace', () => {
  it('sendKey presses keys in order, holds them, releases them in reverse', async () => {
    const from = (await qemu.traceLines()).length;
    await sendKey(
      client,
      [
        { type: 'qcode', data: 'shift' },
        { type: 'number', data: 0x30 }, // scancode 0x30 is the 'b' key
      ],
      { holdTimeMs: 50 },
    );
    expect(await eventsAfter(from, 4)).toEqual([
      'input_event_key_qcode con -1, key qcode shift, down 1',
      'input_event_key_qcode con -1, key qcode b, down 1',
      'input_event_key_qcode con -1, key qcode b, down 0',
      'input_event_key_qcode con -1, key qcode shift, down 0',
    ]);
  });

  it('inputSendEvent delivers a batch of 8 key pairs in order', async () => {
    const keys = ['h', 'e', 'l', 'l', 'o', 'spc', 'kp_1', 'ret'];
    const batch: QmpInputEvent[] = keys.flatMap((k): QmpInputEvent[] => [
      { type: 'key', down: true, key: { type: 'qcode', data: k } },
      { type: 'key', down: false, key: { type: 'qcode', data: k } },
    ]);
    const from = (await qemu.traceLines()).length;
    await inputSendEvent(client, batch);
    expect(await eventsAfter(from, 16)).toEqual(keys.flatMap((k) => [1, 0].map((d) => `input_event_key_qcode con -1, key qcode ${k}, down ${d}`)));
  });

  it('inputSendEvent delivers absolute moves, buttons and relative moves with their values', async () => {
    const from = (await qemu.traceLines()).length;
    await inputSendEvent(client, [
      { type: 'abs', axis: 'x', value: 16384 },
      { type: 'abs', axis: 'y', value: 0x7fff },
    ]);
    await inputSendEvent(client, [
      { type: 'btn', down: true, button: 'left' },
      { type: 'btn', down: false, button: 'left' },
      { type: 'btn', down: true, button: 'wheel-up' },
      { type: 'btn', down: false, button: 'wheel-up' },
    ]);
    await inputSendEvent(client, [
      { type: 'rel', axis: 'x', value: 10 },
      { type: 'rel', axis: 'y', value: -5 },
    ]);
    expect(await eventsAfter(from, 8)).toEqual([
      'input_event_abs con -1, axis x, value 0x4000',
      'input_event_abs con -1, axis y, value 0x7fff',
      'input_event_btn con -1, button left, down 1',
      'input_event_btn con -1, button left, down 0',
      'input_event_btn con -1, button wheel-up, down 1',
      'input_event_btn con -1, button wheel-up, down 0',
      'input_event_rel con -1, axis x, value 10',
      'input_event_rel con -1, axis y, value -5',
    ]);
  });

  it("inputSendEvent names the display device's console, and QEMU refuses an unknown one", async () => {
    // `device` names a display device: events then come from its console (con 0) instead of none (con -1).
    const from = (await qemu.traceLines()).length;
    await inputSendEvent(client, [{ type: 'abs', axis: 'x', value: 123 }], { device: 'video0', head: 0 });
    expect(await eventsAfter(from, 1)).toEqual(['input_event_abs con 0, axis x, value 0x7b']);
    await expect(inputSendEvent(client, [{ type: 'abs', axis: 'x', value: 1 }], { device: 'no-such-device' })).rejects.toMatchObject({
      code: 'ATP_QMP_COMMAND',
    });
  });
});
