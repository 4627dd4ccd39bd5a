/** QMP: codec, client and typed command helpers. */
export * from './codec.js';
export * from './messages.js';
export * from './executor.js';
export * from './event-hub.js';
export { QmpClient } from './client.js';
export type { QmpState, QmpClientOptions, QmpReconnectOptions, QmpCommandOptions, QmpClientNotifications, QmpClientStats } from './client.js';
export { describeQmpTarget, type QmpTarget } from './link.js';
export * from './commands.js';
