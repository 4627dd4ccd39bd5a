/** Every fuzz target, in the order `npm run fuzz` runs them. */
import type { FuzzTarget } from './harness.js';
import { agentNdjsonTarget, agentWsTarget } from './targets-agent.js';
import { apiBodiesTarget } from './targets-api.js';
import { vdiRepliesTarget } from './targets-vdi.js';
import { domainXmlTarget, qgaDecoderTarget, qmpDecoderTarget, virshOutputTarget } from './targets-vm.js';
import { spiceChannelTarget, spiceLinkTarget, vncHandshakeTarget, vncMessagesTarget } from './targets-display.js';
import { hostsYamlTarget, platformsYamlTarget, scenarioV1Target, scenarioV2Target } from './targets-yaml.js';

export const FUZZ_TARGETS: readonly FuzzTarget<never>[] = [
  qmpDecoderTarget,
  qgaDecoderTarget,
  virshOutputTarget,
  domainXmlTarget,
  scenarioV1Target,
  scenarioV2Target,
  hostsYamlTarget,
  platformsYamlTarget,
  spiceLinkTarget,
  spiceChannelTarget,
  vncHandshakeTarget,
  vncMessagesTarget,
  apiBodiesTarget,
  vdiRepliesTarget,
  agentNdjsonTarget,
  agentWsTarget,
] as unknown as readonly FuzzTarget<never>[];
