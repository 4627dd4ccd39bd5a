/**
 * Hostile input at the VM boundaries (QMP, QGA, virsh output, domain XML): the
 * fuzz targets of host/test/fuzz/targets-vm.ts with small run counts; `npm run
 * fuzz` runs the same targets for a fixed time budget each.
 */
import { describe, it } from 'vitest';
import { assertTarget } from './fuzz/harness.js';
import { domainXmlTarget, qgaDecoderTarget, qmpDecoderTarget, virshOutputTarget } from './fuzz/targets-vm.js';

describe('fuzz: VM boundaries', () => {
  it('QMP decoder: only typed, located rejections, bounded buffer', () => assertTarget(qmpDecoderTarget, 200));
  it('QGA decoder: only typed, located rejections, bounded buffer', () => assertTarget(qgaDecoderTarget, 200));
  it('virsh output parsers: only typed, located rejections', () => assertTarget(virshOutputTarget, 100));
  it('domain XML: only typed, located rejections', () => assertTarget(domainXmlTarget, 60));
});
