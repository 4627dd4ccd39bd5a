/** The host's HTTP face: the web verifier page and the hub's WebSocket endpoint on one port. */
export * from './listen-address.js';
export * from './ws-upgrade.js';
export * from './server.js';
export * from './v1/index.js';
