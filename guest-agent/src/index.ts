/**
 * @atp/guest-agent: the `atp-agent` witness that runs inside a guest.
 * Capture backends, links and the CLI arrive with the agent issue; for now the
 * package only re-exports the protocol version it speaks.
 */
export { PROTOCOL_VERSION } from '@atp/protocol';
export * from './capture/index.js';
export * from './link/index.js';
export * from './exec/index.js';
