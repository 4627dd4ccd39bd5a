/**
 * `npm run fuzz [-- --budget-s N --target NAME --seed S]`: the fixed-budget
 * fuzz run over every hostile-input boundary. The runner and the targets live
 * in host/test/fuzz/ (type-checked with the tests); findings go to fuzz/findings/.
 */
import { fileURLToPath } from 'node:url';
import { main } from '../host/test/fuzz/runner.js';

const script = fileURLToPath(import.meta.url);
const findings = fileURLToPath(new URL('./findings/', import.meta.url));
process.exitCode = await main(process.argv.slice(2), script, findings);
