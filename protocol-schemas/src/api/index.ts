/** HTTP API schemas (/api/v1). One file per area; add an export line for yours. */
export * from './common.js';
export * from './events.js';
export * from './metrics.js';
export * from './hosts.js';
export * from './vms.js';
export * from './input.js';
export * from './exec.js';
export * from './suites.js';
export * from './agents.js';
export * from './platform.js';
export * from './runs.js';
