/** The cross-code key table: canonical key ids and lossless conversions, generated from keycodemapdb. */
export * from './types.js';
export * from './table.js';
export * from './convert.js';
export * from './parse.js';
