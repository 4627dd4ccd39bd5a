/**
 * Hostile HTTP API bodies (fastify.inject, no socket) and hostile OCloudView
 * replies (a local HTTP server): the fuzz targets of host/test/fuzz/targets-api.ts
 * and targets-vdi.ts with small run counts; `npm run fuzz` runs them for a fixed
 * time budget each.
 */
import { describe, it } from 'vitest';
import { assertTarget } from './fuzz/harness.js';
import { apiBodiesTarget } from './fuzz/targets-api.js';
import { vdiRepliesTarget } from './fuzz/targets-vdi.js';

describe('fuzz: HTTP boundaries', () => {
  it('API bodies: never a 500, every error a registered code, body errors name the field', () => assertTarget(apiBodiesTarget, 150));
  it('platform replies: only typed ATP_VDI_* rejections naming the endpoint', () => assertTarget(vdiRepliesTarget, 150));
});
