/** Agent links: the Link seam, its TCP / WebSocket / virtio-serial implementations, and the AgentSession that drives one. */
export * from './types.js';
export * from './tcp.js';
export * from './ws.js';
export * from './virtio.js';
export * from './virtio-port.js';
export * from './handshake.js';
export * from './dispatch.js';
export * from './session.js';
export * from './warm-up.js';
export * from './fine-clock.js';
