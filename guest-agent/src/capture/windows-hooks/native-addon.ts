/**
 * Loads a native addon (koffi's koffi.node) with process.dlopen.
 *
 * In the single-file executable the addon rides as a SEA asset: it is written
 * next to the executable as `<name>-<sha256 prefix>.node` (or, when that folder
 * is not writable, the temp dir), reused when a file with the same content is
 * already there, and loaded from that path. Run from node_modules (development),
 * it comes from koffi's per-platform package @koromix/koffi-<platform>-<arch>.
 * The loaded module is cached per thread (workers load their own copy).
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { AtpError } from '@atp/protocol';

const loaded = new Map<string, unknown>();

function isSea(): boolean {
  try {
    const sea = createRequire(import.meta.url)('node:sea') as { isSea(): boolean };
    return sea.isSea();
  } catch {
    return false;
  }
}

function seaAsset(name: string): Buffer {
  const sea = createRequire(import.meta.url)('node:sea') as { getRawAsset(key: string): ArrayBuffer | string };
  const raw = sea.getRawAsset(name);
  return typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(new Uint8Array(raw));
}

/** Writes `bytes` as dir/<stem>-<hash>.node unless an identical file is there; returns the path. */
export function materialize(bytes: Buffer, stem: string, dirs: readonly string[]): string {
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const failures: string[] = [];
  for (const dir of dirs) {
    const file = path.join(dir, `${stem}-${hash}.node`);
    try {
      const existing = readFileSync(file);
      if (existing.equals(bytes)) return file;
    } catch {
      // not there yet
    }
    try {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes, { mode: 0o755 });
      renameSync(tmp, file);
      return file;
    } catch (error) {
      failures.push(`${dir}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new AtpError('ATP_CAPTURE_NATIVE', `cannot write the native addon ${stem}: ${failures.join('; ')}`, { details: { dirs: [...dirs] } });
}

/** The path of koffi.node for this process: the SEA asset written out, or the installed package's file. */
export function koffiAddonPath(): string {
  if (isSea()) {
    let bytes: Buffer;
    try {
      bytes = seaAsset('koffi.node');
    } catch (cause) {
      throw new AtpError('ATP_CAPTURE_NATIVE', `this executable carries no koffi.node asset (built for ${process.platform}-${process.arch}?)`, { cause });
    }
    return materialize(bytes, 'koffi', [path.dirname(process.execPath), os.tmpdir()]);
  }
  const pkg = `@koromix/koffi-${process.platform}-${process.arch}`;
  try {
    const dir = path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
    return path.join(dir, `${process.platform}_${process.arch}`, 'koffi.node');
  } catch (cause) {
    throw new AtpError('ATP_CAPTURE_NATIVE', `${pkg} is not installed (npm installs it with koffi on ${process.platform}-${process.arch})`, { cause });
  }
}

/** process.dlopen of `file`, once per thread; throws ATP_CAPTURE_NATIVE. */
export function loadAddon<T>(file: string): T {
  const cached = loaded.get(file);
  if (cached !== undefined) return cached as T;
  const module = { exports: {} as unknown };
  try {
    process.dlopen(module, file);
  } catch (cause) {
    throw new AtpError('ATP_CAPTURE_NATIVE', `cannot load ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { file } });
  }
  loaded.set(file, module.exports);
  return module.exports as T;
}
