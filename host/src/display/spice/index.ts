/** The SPICE client (hand-written: link, ticket, main/inputs/display channels) as the injectors and targets use it. */
export { SpiceClient, type SpiceClientOptions, type SurfaceSize } from './client.js';
export { MouseMode, type SpiceMouseMode } from './constants.js';
export { scancodeToKeyCode, spiceSendableScancode, type InputsClientMessage } from './inputs-codec.js';
export { surfaceCoordinate, qemuTabletAbs } from './pointer-map.js';
