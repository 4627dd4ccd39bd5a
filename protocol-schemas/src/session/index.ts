/** The observer session engine (a pure state machine shared by the guest agent and the web verifier page) and its vocabulary. */
export * from './types.js';
export * from './refusal.js';
export * from './flush-budget.js';
export * from './engine.js';
