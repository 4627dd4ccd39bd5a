import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INPUT_EVENT_SIZE, InputEventDecoder, ObservedEventSchema, type InputEventLayout } from '@atp/protocol';
import { EvdevTranslator } from '../src/capture/linux-evdev/translate.js';

// The input_event codec itself is @atp/protocol's (protocol-schemas/test/evdev-input-event.test.ts);
// here: whatever bytes a device yields, the agent's decode + translate path stays well-formed.
describe('input_event decoding in the agent', () => {
  it('property: random garbage decodes into well-formed records and translates without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom<InputEventLayout>('timeval64', 'timeval32'), (bytes, layout) => {
        const decoder = new InputEventDecoder(layout);
        const records = decoder.push(bytes);
        expect(records.length).toBe(Math.floor(bytes.length / INPUT_EVENT_SIZE[layout]));
        expect(decoder.pendingBytes).toBe(bytes.length % INPUT_EVENT_SIZE[layout]);
        for (const r of records) {
          expect(Number.isInteger(r.sec) && r.sec >= 0).toBe(true);
          expect(r.type).toBeLessThanOrEqual(0xffff);
          expect(r.value).toBeGreaterThanOrEqual(-(2 ** 31));
        }
        const translator = new EvdevTranslator({ device: 'event0' });
        for (const event of translator.push(records)) {
          // Whatever comes out is a valid observed event once numbered.
          expect(ObservedEventSchema.safeParse({ ...event, seq: 1 }).success).toBe(true);
        }
      }),
    );
  });
});
