/**
 * Reads the few ELF header fields the lab needs to accept a prebuilt agent
 * executable: the magic, 64-bit class, little-endian data and the machine.
 * Hand-written because it is five fields at fixed offsets (ELF spec, e_ident
 * and e_machine); a library would only add a dependency. Pure.
 */
import { AtpError } from '@atp/protocol';

export type ElfMachine = 'x86-64' | 'aarch64' | `machine-${number}`;

export interface ElfHeaderInfo {
  class64: boolean;
  littleEndian: boolean;
  machine: ElfMachine;
}

const MACHINES: Readonly<Record<number, ElfMachine>> = { 0x3e: 'x86-64', 0xb7: 'aarch64' };

/** The header's class, byte order and machine; undefined when `bytes` does not start with an ELF header. */
export function readElfHeader(bytes: Uint8Array): ElfHeaderInfo | undefined {
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return undefined;
  const littleEndian = bytes[5] === 1;
  const lo = bytes[18] ?? 0;
  const hi = bytes[19] ?? 0;
  const code = littleEndian ? lo | (hi << 8) : (lo << 8) | hi;
  return { class64: bytes[4] === 2, littleEndian, machine: MACHINES[code] ?? `machine-${code}` };
}

/** Throws ATP_LAB_IMAGE unless `bytes` is a 64-bit little-endian x86-64 ELF (the lab guest's architecture). */
export function assertLabExecutable(bytes: Uint8Array, file: string): void {
  const elf = readElfHeader(bytes);
  if (elf === undefined) throw new AtpError('ATP_LAB_IMAGE', `${file} is not an ELF executable (the lab guest runs Linux x86-64: use the linux-x64 agent)`, { details: { path: file } });
  if (!elf.class64 || !elf.littleEndian || elf.machine !== 'x86-64') {
    throw new AtpError('ATP_LAB_IMAGE', `${file} is an ELF for ${elf.machine}${elf.class64 ? '' : ' (32-bit)'}, but the lab guest is x86-64: use the linux-x64 agent`, { details: { path: file, machine: elf.machine } });
  }
}
