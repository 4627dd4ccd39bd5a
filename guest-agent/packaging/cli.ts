/**
 * `npm run package:agent [-- --target linux-x64,win-x64] [--out DIR] [--sign-pkcs12 FILE]`:
 * builds the single-file agent executables and prints manifest.json's content.
 * The .pfx password comes from ATP_SIGN_PASSWORD (never a flag).
 */
import { parseArgs } from 'node:util';
import { AtpError } from '@atp/protocol';
import { buildAgentPackages, parseTargets } from './build.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'all' },
      out: { type: 'string' },
      cache: { type: 'string' },
      'sign-pkcs12': { type: 'string' },
      'sign-timestamp-url': { type: 'string' },
    },
    allowPositionals: false,
  });
  const pkcs12 = values['sign-pkcs12'] ?? process.env['ATP_SIGN_PKCS12'];
  const started = Date.now();
  const manifest = await buildAgentPackages({
    targets: parseTargets(values.target),
    ...(values.out === undefined ? {} : { outDir: values.out }),
    ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
    ...(pkcs12 === undefined ? {} : { sign: { pkcs12, ...(values['sign-timestamp-url'] === undefined ? {} : { timestampUrl: values['sign-timestamp-url'] }) } }),
    log: (line) => console.error(line),
  });
  for (const p of manifest.packages) console.log(`${p.path}  ${p.bytes} bytes  sha256 ${p.sha256}${p.signed ? '  signed' : ''}`);
  console.error(`built ${manifest.packages.length} executable(s) with Node ${manifest.nodeVersion} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof AtpError ? `${error.code}: ${error.message}` : error);
    process.exit(1);
  },
);
