/** libvirt through virsh: the client, its executors for the QMP and QGA helpers, domain XML, events. */
export { VirshLibvirtClient, KEY_CODESETS } from './client.js';
export type { CallOptions, KeyCodeset, LibvirtClient, SendKeysOptions, ShutdownMode, VirshLibvirtClientOptions } from './client.js';
export { ATP_AGENT_CHANNEL, QGA_CHANNEL, buildDomainXml, describeDomain } from './domain-xml.js';
export type { DomainChannel, DomainDescription, DomainGraphics, DomainInput, DomainSpec } from './domain-xml.js';
export { LIFECYCLE_EVENTS, parseEventLine } from './event-codec.js';
export type { DomainEvent, LifecycleEvent } from './event-codec.js';
export { LibvirtEventStream } from './events.js';
export type { EventStreamOptions, LibvirtEvent, StreamNotice } from './events.js';
export { virshQgaExecutor, virshQmpExecutor } from './executors.js';
export { DOMAIN_STATES, parseDomainList, parseDominfo, parseDomstate } from './output-codec.js';
export type { DomainInfo, DomainState, DomainSummary } from './output-codec.js';
export { asciiJson, quoteVirshArg, virshCommandLine } from './quote.js';
export { AutoVirsh, createVirshRunner } from './virsh-auto.js';
export type { VirshMode, VirshRunnerOptions } from './virsh-auto.js';
export { VirshProcess } from './virsh-process.js';
export type { VirshProcessOptions } from './virsh-process.js';
export { PerCallVirsh } from './virsh-runner.js';
export type { VirshCommonOptions, VirshRunner, VirshRunOptions } from './virsh-runner.js';
