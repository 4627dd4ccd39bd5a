/**
 * The calibrated rates `atp-host calibrate` measured: one JSON file,
 * calibrations.json, in the config dir beside hosts.yaml (the caller passes
 * the directory: config/paths.ts sits above this layer). One entry per VM
 * identity (name, host, the input device input is routed to) and injector;
 * validated with zod on every read, written atomically (temp file + rename),
 * 0600 like the other config files. A suite's `rate: calibrated` is resolved
 * here (calibratedPacing) and fails with ATP_SCENARIO_UNCALIBRATED naming the
 * VM and the command to run when nothing is stored.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AtpError } from '@atp/protocol';
import { openAtRate, type CalibrationKey, type CalibrationLookup, type ResolvedPacing } from './pacing-policy.js';

export type { CalibrationKey, CalibrationLookup } from './pacing-policy.js';

export const CALIBRATION_FILE = 'calibrations.json';


const CalibrationSchema = z.strictObject({
  vm: z.string().min(1),
  host: z.string().min(1).optional(),
  injector: z.string().min(1),
  inputDevice: z.string().min(1).optional(),
  /** The open-loop keystrokes/s suites use: a margin below the edge, confirmed by runs in a row with zero defects. */
  rateKeysPerS: z.number().positive(),
  /** The highest keystrokes/s that passed once during the search (the edge). */
  edgeKeysPerS: z.number().positive().optional(),
  latencyP50Ms: z.number().optional(),
  latencyP99Ms: z.number().optional(),
  /** The keystrokes/s the confirming run achieved. */
  achievedKeysPerS: z.number().positive().optional(),
  /** The lowest rate tried that failed, if any. */
  failedAtKeysPerS: z.number().positive().optional(),
  suite: z.string().min(1),
  measuredAt: z.iso.datetime(),
});
export type Calibration = z.output<typeof CalibrationSchema>;

const FileSchema = z.strictObject({ version: z.literal(1), calibrations: z.array(CalibrationSchema) });

const sameKey = (a: CalibrationKey, b: CalibrationKey): boolean => a.vm === b.vm && a.host === b.host && a.injector === b.injector && a.inputDevice === b.inputDevice;

export const describeKey = (key: CalibrationKey): string =>
  `VM ${JSON.stringify(key.host === undefined ? key.vm : `${key.vm}@${key.host}`)} with the ${key.injector} injector${key.inputDevice === undefined ? '' : ` (${key.inputDevice})`}`;

/** The command that calibrates this VM and injector. */
export function calibrateCommand(key: CalibrationKey): string {
  const vm = key.host === undefined ? key.vm : `${key.vm}@${key.host}`;
  return `atp-host calibrate --vm ${vm} --injector ${key.injector} --token-file F (the lab VM: atp-host calibrate --lab --injector ${key.injector})`;
}

export class CalibrationStore implements CalibrationLookup {
  readonly file: string;

  constructor(configDir: string) {
    this.file = path.join(configDir, CALIBRATION_FILE);
  }

  async list(): Promise<Calibration[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new AtpError('ATP_CALIBRATE_STORE', `${this.file}: cannot read: ${String(error)}`, { details: { file: this.file }, cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new AtpError('ATP_CALIBRATE_STORE', `${this.file}: not JSON: ${String(error)}`, { details: { file: this.file }, cause: error });
    }
    const parsed = FileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? '';
      throw new AtpError('ATP_CALIBRATE_STORE', `${this.file}: ${field === '' ? '(root)' : field}: ${issue?.message ?? 'invalid'}`, { details: { file: this.file, field } });
    }
    return parsed.data.calibrations;
  }

  async find(key: CalibrationKey): Promise<Calibration | undefined> {
    return (await this.list()).find((c) => sameKey(c, key));
  }

  /** Stores `calibration`, replacing the entry of the same VM and injector. */
  async put(calibration: Calibration): Promise<void> {
    const entry = CalibrationSchema.parse(calibration);
    const calibrations = [...(await this.list()).filter((c) => !sameKey(c, entry)), entry];
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFile(tmp, `${JSON.stringify({ version: 1, calibrations }, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.file);
    } catch (error) {
      throw new AtpError('ATP_CALIBRATE_STORE', `${this.file}: cannot write: ${String(error)}`, { details: { file: this.file }, cause: error });
    }
  }
}

/** A suite's `rate: calibrated` made concrete for one target; ATP_SCENARIO_UNCALIBRATED when nothing is stored. */
export async function calibratedPacing(pacing: ResolvedPacing, lookup: CalibrationLookup | undefined, key: CalibrationKey): Promise<ResolvedPacing> {
  if (pacing.calibrated !== true) return pacing;
  const found = await lookup?.find(key);
  if (found === undefined) {
    const where = lookup === undefined ? 'no calibration store was given to this run' : `nothing in ${lookup.file}`;
    throw new AtpError('ATP_SCENARIO_UNCALIBRATED', `the suite says rate: calibrated, but no rate is calibrated for ${describeKey(key)} (${where}); run ${calibrateCommand(key)}`, {
      details: { ...key, ...(lookup === undefined ? {} : { file: lookup.file }) },
    });
  }
  return openAtRate(found.rateKeysPerS, pacing);
}
