// Lint rules that keep the layering of ARCHITECTURE.md: no import cycles, no
// arrow pointing up, and codecs that never touch I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** Host layers from the ground up; a layer may import only layers below it. */
const hostLayers = [
  ['util'],
  ['vm', 'vdi', 'display', 'history'],
  ['inject'],
  ['hub'],
  ['verify'],
  ['scenario', 'report'],
  ['lab', 'config', 'vdi-sim'],
  ['targets'],
  ['run', 'calibrate'],
  ['cli', 'api'],
];

const upwardZones = hostLayers.slice(0, -1).flatMap((layer, i) =>
  layer.map((folder) => ({
    target: `./host/src/${folder}`,
    from: hostLayers.slice(i + 1).flat().map((upper) => `./host/src/${upper}`),
    message: 'Upward import: a host layer may only import the layers below it (ARCHITECTURE.md).',
  })),
);

/**
 * Guest agent: io (descriptor plumbing) at the bottom; capture, links, exec and
 * health are siblings above it; only the CLI wires them together.
 */
const agentSiblings = ['capture', 'link', 'exec', 'health'];
const agentZones = [
  ...agentSiblings.map((folder) => ({
    target: `./guest-agent/src/${folder}`,
    from: [...agentSiblings.filter((other) => other !== folder), 'cli'].map((other) => `./guest-agent/src/${other}`),
  })),
  { target: './guest-agent/src/io', from: [...agentSiblings, 'cli'].map((other) => `./guest-agent/src/${other}`) },
].map((zone) => ({ ...zone, message: 'Agent layering: io at the bottom; capture, link, exec and health do not import each other or the CLI (docs/ARCHITECTURE.md).' }));

const packageZones = [
  { target: './protocol-schemas', from: ['./host', './guest-agent', './web-verifier', './web-console'], message: 'protocol-schemas is the bottom layer.' },
  { target: './host', from: ['./guest-agent', './web-verifier', './web-console'], message: 'host must not import the agent or the page.' },
  { target: './guest-agent', from: ['./host', './web-verifier'], message: 'the agent must not import the host or the page.' },
  { target: './web-verifier', from: ['./host', './guest-agent'], message: 'the page must not import the host or the agent.' },
  { target: './web-console', from: ['./host', './guest-agent', './web-verifier'], message: 'the console talks to the host over HTTP only: it imports @atp/protocol, not the host, the agent or the page.' },
];

const ioModules = ['net', 'fs', 'fs/promises', 'child_process', 'dgram', 'http', 'https', 'tls', 'worker_threads', 'stream'];
const noIo = {
  patterns: [{ group: ioModules.flatMap((m) => [m, `node:${m}`]), message: 'Codecs and pure layers are tested without sockets: no I/O modules here.' }],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', '**/*.gen.ts', 'web-verifier/public/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver': undefined,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: ['*/tsconfig.json', 'tsconfig.tests.json'], noWarnOnMultipleProjects: true })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: [...upwardZones, ...agentZones, ...packageZones] }],
      'import-x/no-self-import': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.property.name='exec'][callee.object.name='child_process']", message: 'Nothing passes through a shell: use execFile/spawn with an argument array.' }],
    },
  },
  {
    files: ['protocol-schemas/src/**/*.ts', '*/src/**/codec.ts', '*/src/**/*-codec.ts', 'host/src/verify/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', noIo] },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
