/**
 * Hostile YAML (suites v1 and v2, hosts.yaml, platforms.yaml): the fuzz targets
 * of host/test/fuzz/targets-yaml.ts with small run counts, including alias
 * bombs, duplicate keys and deep nesting; `npm run fuzz` runs them for a fixed
 * time budget each.
 */
import { describe, it } from 'vitest';
import { assertTarget } from './fuzz/harness.js';
import { hostsYamlTarget, platformsYamlTarget, scenarioV1Target, scenarioV2Target } from './fuzz/targets-yaml.js';

describe('fuzz: YAML files', () => {
  it('suite v1: only typed rejections naming file and line', () => assertTarget(scenarioV1Target, 25));
  it('suite v2: only typed rejections naming file and line', () => assertTarget(scenarioV2Target, 25));
  it('hosts.yaml: only typed rejections naming file and line', () => assertTarget(hostsYamlTarget, 25));
  it('platforms.yaml: only typed rejections naming file and line', () => assertTarget(platformsYamlTarget, 25));
});
