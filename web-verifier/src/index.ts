/**
 * ATP web verifier: the page opened inside a VDI session. The capture page arrives
 * with the web-verifier issue; for now the package only pins the protocol version.
 */
export { PROTOCOL_VERSION } from '@atp/protocol';
