/**
 * The lab VM's state file (<state>/state.json): what another process needs to
 * find, query and stop the VM. Validated with zod on read; written atomically.
 * Also the process checks: is this pid still our QEMU (alive, not a zombie,
 * same executable and start time, so a recycled pid is never signalled)?
 */
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { AtpError } from '@atp/protocol';
import { displayEndpointSchema } from '../display/endpoint-schema.js';
import { LAB_INPUT_PROFILES, LAB_KEYBOARDS } from './input-devices.js';

export const labStateSchema = z.object({
  version: z.literal(1),
  pid: z.number().int().positive(),
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): tells a recycled pid apart. */
  pidStartTicks: z.string().regex(/^\d+$/),
  startedAt: z.string(),
  token: z.string().min(1),
  agentId: z.string().min(1),
  /** The SMBIOS system UUID given to QEMU (absent in state files of older versions). */
  uuid: z.string().optional(),
  accel: z.enum(['tcg', 'kvm']),
  stateDir: z.string(),
  sockets: z.object({ qmp: z.string(), qga: z.string(), agent: z.string() }),
  console: z.string(),
  qemuLog: z.string(),
  image: z.object({ hash: z.string(), kernel: z.string(), initrd: z.string(), kernelRelease: z.string(), hasAgent: z.boolean() }),
  args: z.array(z.string()),
  /** The input devices and the keyboard QMP input is routed to (absent in state files of older versions: minimal, ps2). */
  input: z.object({ profile: z.enum(LAB_INPUT_PROFILES), keyboard: z.enum(LAB_KEYBOARDS) }).optional(),
  /**
   * The SPICE and VNC servers, as clients reach them (lab/display.ts). Passwords
   * are kept here like the token (the file is 0600); absent: no display server.
   */
  display: z
    .object({
      spice: displayEndpointSchema.refine((e) => e.protocol === 'spice', 'display.spice must be a spice endpoint').optional(),
      vnc: displayEndpointSchema.refine((e) => e.protocol === 'vnc', 'display.vnc must be a vnc endpoint').optional(),
      vncKeyDelayMs: z.number().int().min(0).optional(),
    })
    .optional(),
});
export type LabState = z.infer<typeof labStateSchema>;

export async function writeLabState(file: string, state: LabState): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(labStateSchema.parse(state), null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** The state, or undefined when there is no state file; ATP_LAB_STATE when it is unreadable or invalid. */
export async function readLabState(file: string): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AtpError('ATP_LAB_STATE', `cannot read the lab state file ${file}: ${String(cause)}`, { cause, details: { file } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AtpError('ATP_LAB_STATE', `the lab state file ${file} is not JSON (remove it if no VM is running)`, { cause, details: { file } });
  }
  const parsed = labStateSchema.safeParse(json);
  if (!parsed.success) {
    throw new AtpError('ATP_LAB_STATE', `the lab state file ${file} is invalid (${parsed.error.issues[0]?.message ?? ''}); remove it if no VM is running`, { details: { file } });
  }
  return parsed.data;
}

/** Field 22 (starttime) and field 3 (state) of /proc/<pid>/stat, or undefined if the pid is gone. */
function procStat(pid: number): { state: string; startTicks: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTicks = rest[19];
  return state && startTicks ? { state, startTicks } : undefined;
}

export function processStartTicks(pid: number): string | undefined {
  return procStat(pid)?.startTicks;
}

/** True while `pid` is a live (non-zombie) process started at `startTicks`. */
export function isSameProcessAlive(pid: number, startTicks: string): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X' && s.startTicks === startTicks;
}
