/**
 * Step 1 of the agent build: one CommonJS file with everything but Node's own
 * modules (esbuild). @atp/protocol is always bundled from its TypeScript
 * sources, never from a possibly stale dist/. `ws` would try to require its
 * optional native helpers; the two WS_NO_* variables are compiled in as "1" so
 * it never does (a SEA can only require built-in modules).
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { AtpError } from '@atp/protocol';

export const AGENT_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SEA_ENTRY = fileURLToPath(new URL('./sea-entry.ts', import.meta.url));
const PROTOCOL_SOURCES = fileURLToPath(new URL('../../protocol-schemas/src/index.ts', import.meta.url));

export interface BundleResult {
  /** The bundle's path. */
  file: string;
  bytes: number;
  /** Every source file that went into it (for the build cache key). */
  inputs: string[];
}

/** Bundles sea-entry.ts into `outFile` (CommonJS, node22, minified identifiers off for readable stacks). */
export async function bundleAgent(outFile: string): Promise<BundleResult> {
  try {
    const result = await build({
      entryPoints: [SEA_ENTRY],
      outfile: outFile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      sourcemap: false,
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      metafile: true,
      logLevel: 'silent',
      alias: { '@atp/protocol': PROTOCOL_SOURCES },
      define: {
        'process.env.WS_NO_BUFFER_UTIL': '"1"',
        'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
        'import.meta.url': '__atp_import_meta_url',
      },
      banner: { js: 'var __atp_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
      // koffi is never bundled: the Windows backend loads its native part itself (windows-hooks/native-addon.ts).
      external: ['koffi'],
    });
    const output = result.metafile.outputs[Object.keys(result.metafile.outputs)[0] ?? ''];
    return { file: outFile, bytes: output?.bytes ?? 0, inputs: Object.keys(result.metafile.inputs).sort() };
  } catch (cause) {
    throw new AtpError('ATP_PACKAGING_BUILD', `esbuild could not bundle ${SEA_ENTRY}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
