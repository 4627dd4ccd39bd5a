/**
 * Entry of the single-file executables: src/main.ts without its top-level
 * await, which the CommonJS bundle a Node SEA runs cannot have. Keep the two in
 * step (a packaging test runs `--version` through both).
 */
import { runCli } from '../src/cli/program.js';

runCli(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`atp-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
