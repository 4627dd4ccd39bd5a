/** Exec requests from the host: spawn without a shell, with timeout and output caps. */
export * from './run.js';
