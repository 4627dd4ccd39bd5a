/**
 * Parses the output of glibc's `ldd` into the absolute paths of the shared
 * libraries a binary loads (including the dynamic loader). Hand-written: the
 * format is one line per library ("name => /path (0x…)" or "/path (0x…)"),
 * and there is no library for it. Pure.
 */
import { AtpError } from '@atp/protocol';

export function parseLddOutput(text: string, binary: string): string[] {
  const paths: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('linux-vdso') || line.startsWith('linux-gate')) continue;
    if (line.includes('not a dynamic executable') || line.includes('statically linked')) continue;
    if (line.includes('=> not found')) {
      throw new AtpError('ATP_LAB_IMAGE', `${binary} needs a library that is not installed: ${line}`, { details: { binary, line } });
    }
    const arrow = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    const direct = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    const found = arrow?.[1] ?? direct?.[1];
    if (found === undefined) throw new AtpError('ATP_LAB_IMAGE', `cannot read ldd output for ${binary}: ${JSON.stringify(line)}`, { details: { binary, line } });
    if (!paths.includes(found)) paths.push(found);
  }
  return paths;
}
