/** @atp/protocol: every wire format, the scenario and report formats, the key table. Browser-safe. */
export * from './errors.js';
export * from './framing.js';
export * from './validate.js';
export * from './backoff.js';
export * from './clock.js';
export * from './agent-protocol.js';
export * from './delivery.js';
export * from './scenario.js';
export * from './report.js';
export * from './run-events.js';
export * from './keys/index.js';
export * from './evdev/index.js';
export * from './scenario-v2.js';
export * from './api/index.js';
export * from './session/index.js';
