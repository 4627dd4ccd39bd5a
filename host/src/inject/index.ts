/** Injection: the Injector contract, the injector kit, the QMP, SPICE and VNC injectors, layouts, text -> keystrokes, pacing. */
export type { InputAction, InjectedAction, Injector, PointerButton, ScreenSize } from './actions.js';
export { ABS_MAX, absToPixel, pixelToAbs } from './pointer-scale.js';
export { actionToEvents, planCalls, qmpKeyValue, type PlannedCall } from './qmp-events.js';
export { MAX_KEY_PAIRS_PER_CALL, QmpInjector, type QmpInjectorOptions } from './qmp-injector.js';
export { getLayout, layoutIds, makeLayout, type Layout } from './layouts/layout.js';
export type { DeadKeyData, KeyStroke, LayoutData, Level } from './layouts/types.js';
export { comboToActions, comboToKeystroke, textToActions, textToKeystrokes, type Keystroke, type TextOptions } from './text.js';
export { Pacer, type ActionGroup, type ObservationFeedback, type PacerOptions, type PacingPolicy } from './pacing.js';
export { phases } from './phases.js';
export { KitInjector, kitInjector, type InjectorBackend, type PlannedBatch } from './kit.js';
export { openSpiceInjector, SpiceInjector, type SpiceInjectorOptions } from './spice-injector.js';
export { openVncInjector, VncInjector, type VncInjectorOptions, type VncKeyMode } from './vnc-injector.js';
