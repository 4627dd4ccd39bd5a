/**
 * Writes a report file so a reader (CI uploading artifacts, a tail -f) never sees
 * half of it: the text goes to a temporary file beside the target, then is
 * renamed over it. Parent folders are created. Failures → ATP_REPORT_WRITE.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AtpError } from '@atp/protocol';

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(temp, text, { encoding: 'utf8', flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new AtpError('ATP_REPORT_WRITE', `${file}: cannot write report: ${reason}`, { cause: error, details: { file } });
  }
}
