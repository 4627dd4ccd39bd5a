/**
 * Hostile SPICE and VNC server messages: the fuzz targets of
 * host/test/fuzz/targets-display.ts with small run counts; `npm run fuzz` runs
 * them for a fixed time budget each.
 */
import { describe, it } from 'vitest';
import { assertTarget } from './fuzz/harness.js';
import { spiceChannelTarget, spiceLinkTarget, vncHandshakeTarget, vncMessagesTarget } from './fuzz/targets-display.js';

describe('fuzz: display servers', () => {
  it('SPICE link reply: only typed rejections naming the field', () => assertTarget(spiceLinkTarget, 500));
  it('SPICE channel streams: only typed rejections, bounded buffer', () => assertTarget(spiceChannelTarget, 500));
  it('RFB handshake: only typed rejections, bounded waits', () => assertTarget(vncHandshakeTarget, 500));
  it('RFB server messages: only typed rejections, large messages in small chunks within the bound', () => assertTarget(vncMessagesTarget, 60));
});
