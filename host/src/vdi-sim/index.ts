/** The OCloudView platform simulator: its start function, types and the seed file reader for the CLI. */
export { startSimulator, DEFAULT_SIM_HOST, DEFAULT_SIM_URI } from './simulator.js';
export type { SimFaults, SimRequestMatch, SimSeed, Simulator, SimulatorOptions, SimUserSeed } from './types.js';
export { DEFAULT_ADMIN_PASSWORD, DEFAULT_SEED } from './seed.js';
export { loadSeed, SIM_PASSWORD_ENV } from './seed-file.js';
export type { AdminPasswordSource, LoadedSeed } from './seed-file.js';
export { DEFAULT_TOKEN_LIFETIME_MS, md5Hex } from './auth.js';
export { SIM_STATUS } from './envelope.js';
