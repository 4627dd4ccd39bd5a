import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources of sibling workspaces, never a stale dist/.
    alias: [{ find: /^@atp\/protocol$/, replacement: here('./protocol-schemas/src/index.ts') }],
  },
  test: {
    include: ['*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
