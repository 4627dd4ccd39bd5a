/**
 * `atp-host calibrate (--lab [--lab-input desktop --lab-keyboard virtio] | --vm NAME[@HOST] --token-file F)
 *  [--injector qmp|spice|vnc] [--keys N] [--start-rate R] [--max-rate R] [--max-runs N]
 *  [--margin F] [--confirmations N]`:
 * finds the highest open-loop rate (keystrokes/s) at which a verification
 * suite passes with zero defects on that VM through that injector, and the
 * injector achieves that rate (after an uncounted warm-up run; doubling,
 * then bisection, every step a full verification: the edge), keeps a rate
 * `margin` below that edge that passes `confirmations` runs in a row
 * (host/src/calibrate/), prints both with the latency of the last run, and
 * stores it in calibrations.json in the config dir (calibration-store.ts), so a
 * suite can say `defaults: { rate: calibrated }`. Exit 0 with a rate, 1 when no
 * rate passed, 2 for a usage error, 3 when the VM could not be used.
 * A definition file (program.ts): the machinery is loaded inside the action.
 */
import type { Command } from 'commander';
import { withConfigDir } from './config-flag.js';
import { addInjectorOptions, type InjectorFlags } from './injector-flags.js';
import type { CliIo } from './program.js';

interface CalibrateFlags extends InjectorFlags {
  lab?: boolean;
  cacheDir?: string;
  labInput?: string;
  labKeyboard?: string;
  vm?: string;
  token?: string;
  tokenFile?: string;
  tokenStdin?: boolean;
  configDir?: string;
  timeout?: string;
  keys?: string;
  startRate?: string;
  minRate?: string;
  maxRate?: string;
  maxRuns?: string;
  resolution?: string;
  margin?: string;
  confirmations?: string;
  store?: boolean;
  json?: boolean;
}

export function registerCalibrateCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  addInjectorOptions(withConfigDir(program.command('calibrate').description('find and store the highest rate at which verification passes with zero defects, per VM and injector (suites: rate: calibrated)')))
    .option('--lab', 'boot the lab VM with the guest agent (stopped at the end)')
    .option('--cache-dir <dir>', 'with --lab: downloads and built images (env ATP_LAB_CACHE)')
    .option('--lab-input <profile>', "with --lab: the guest's input devices, minimal or desktop")
    .option('--lab-keyboard <kbd>', 'with --lab: the keyboard QMP input goes to: ps2 (default), virtio or usb (the last two need --lab-input desktop)')
    .option('--vm <name[@host]>', 'a running libvirt domain (HOST from hosts.yaml; default this machine), with --token')
    .option('--token-file <file>', 'with --vm: the token the agent presents, from a file (mode 0600, one line); or --token-stdin, or $ATP_TOKEN')
    .option('--token-stdin', 'with --vm: read the agent token from the first line of standard input')
    .option('--token <token>', 'with --vm: the token the agent presents (visible in ps: prefer --token-file, --token-stdin or $ATP_TOKEN)')
    .option('--timeout <seconds>', 'with --vm: how long to wait for the agent (default 120)')
    .option('--keys <n>', 'keystrokes per verification run (default 200)')
    .option('--start-rate <keys/s>', 'first rate tried (default 30)')
    .option('--min-rate <keys/s>', 'lowest rate tried (default 5)')
    .option('--max-rate <keys/s>', 'highest rate tried (default 480)')
    .option('--max-runs <n>', 'most verification runs, the confirming ones included (default 12)')
    .option('--resolution <fraction>', 'stop bisecting when the failing rate is within this fraction of the passing one (default 0.15)')
    .option('--margin <fraction>', 'keep a rate this fraction below the highest rate that passed once, the edge (default 0.2)')
    .option('--confirmations <n>', 'runs in a row that must pass at the kept rate (default 2)')
    .option('--no-store', 'print the rate without storing it')
    .option('--json', 'print the calibration and every run as JSON')
    .action(async (flags: CalibrateFlags) => setExitCode(await calibrate(flags, io)));
}

function numberFlag(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw Object.assign(new Error(`${flag} ${JSON.stringify(value)}: expected a ${integer ? 'whole ' : ''}number > 0`), { flag });
  }
  return n;
}

async function calibrate(given: CalibrateFlags, rawIo: CliIo): Promise<number> {
  const { AtpError, isAtpError } = await import('@atp/protocol');
  const { agentTokenOf, redactingIo, tokenFlagGiven } = await import('./secret-source.js');
  const usage = (message: string, field: string): InstanceType<typeof AtpError> => new AtpError('ATP_SCHEMA_INVALID', `atp-host calibrate: ${message}`, { details: { field } });
  if ((given.lab === true) === (given.vm !== undefined)) throw usage('give either --lab or --vm NAME[@HOST] with --token-file F (or --token-stdin, $ATP_TOKEN)', 'vm');
  if (given.lab === true && tokenFlagGiven(given)) throw usage('--lab sets up its own agent link and token: drop the token flag', 'token');
  // --lab makes its own tokens: $ATP_TOKEN is not read.
  const token = given.lab === true ? undefined : await agentTokenOf(given, { env: process.env, ...(rawIo.input === undefined ? {} : { stdin: rawIo.input }), warn: (line) => rawIo.err(`atp-host calibrate: ${line}\n`) });
  if (given.vm !== undefined && token === undefined) throw usage('--vm needs the token the guest agent presents: --token-file F, --token-stdin or $ATP_TOKEN', 'token');
  const flags: CalibrateFlags = { ...given, ...(token === undefined ? {} : { token }) };
  const io = redactingIo(rawIo, [token]);
  if (flags.lab !== true && (flags.labInput !== undefined || flags.labKeyboard !== undefined || flags.cacheDir !== undefined)) throw usage('--lab-input, --lab-keyboard and --cache-dir need --lab', 'labInput');
  const numbers: Record<string, number | undefined> = {};
  try {
    numbers.keys = numberFlag(flags.keys, '--keys', true);
    numbers.startRate = numberFlag(flags.startRate, '--start-rate', false);
    numbers.minRate = numberFlag(flags.minRate, '--min-rate', false);
    numbers.maxRate = numberFlag(flags.maxRate, '--max-rate', false);
    numbers.maxRuns = numberFlag(flags.maxRuns, '--max-runs', true);
    numbers.resolution = numberFlag(flags.resolution, '--resolution', false);
    numbers.confirmations = numberFlag(flags.confirmations, '--confirmations', true);
    // 0 is a valid margin (keep the edge itself).
    numbers.margin = flags.margin === undefined ? undefined : flags.margin.trim() === '0' ? 0 : numberFlag(flags.margin, '--margin', false);
    numbers.timeout = numberFlag(flags.timeout, '--timeout', false);
  } catch (error) {
    throw usage((error as Error).message, String((error as { flag?: string }).flag ?? 'flags'));
  }
  const [{ randomBytes }, { AgentHub }, targets, lab, { calibrateTarget }, { CalibrationStore }, { configDir }, { parseInjectorFlags }] = await Promise.all([
    import('node:crypto'),
    import('../hub/index.js'),
    import('../targets/index.js'),
    import('../lab/index.js'),
    import('../calibrate/calibrate.js'),
    import('../scenario/calibration-store.js'),
    import('../config/paths.js'),
    import('./injector-flags.js'),
  ]);
  const pick = <T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined => {
    if (value === undefined) return undefined;
    const found = allowed.find((a) => a === value);
    if (found === undefined) throw usage(`${flag} expects one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, flag.slice(2));
    return found;
  };
  const inputProfile = pick(flags.labInput, lab.LAB_INPUT_PROFILES, '--lab-input');
  const keyboard = pick(flags.labKeyboard, lab.LAB_KEYBOARDS, '--lab-keyboard');
  const choice = await parseInjectorFlags(flags);
  const injector = { kind: choice.kind ?? 'qmp', ...choice } as const;
  const location = flags.configDir === undefined ? {} : { configDir: flags.configDir };
  const display = injector.endpoint === undefined && injector.kind !== 'qmp' ? { [injector.kind]: {} } : undefined;
  const spec =
    flags.lab === true
      ? { kind: 'lab' as const, lab: { killOnExit: true, ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }), ...(inputProfile === undefined ? {} : { inputProfile }), ...(keyboard === undefined ? {} : { keyboard }), ...(display === undefined ? {} : { display }) } }
      : { kind: 'vm' as const, vm: flags.vm ?? '', token: flags.token ?? '', timeoutMs: (numbers.timeout ?? 120) * 1000 };
  const connections = new targets.HostConnections(location);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const hub = await AgentHub.create({ auth: { tokens: [flags.token ?? randomBytes(16).toString('hex')] } });
  const log = (line: string): void => io.err(`calibrate: ${line}\n`);
  try {
    const [opener] = await targets.targetOpeners(spec, { connections, location, warn: log });
    if (opener === undefined) throw usage('no VM to calibrate', 'vm');
    const target = await opener.open({ hub, signal: abort.signal, log, connections });
    let outcome;
    try {
      const search = Object.fromEntries(['startRate', 'minRate', 'maxRate', 'maxRuns', 'resolution', 'margin', 'confirmations'].flatMap((k) => (numbers[k] === undefined ? [] : [[k, numbers[k]]])));
      outcome = await calibrateTarget(target, { injector, search, log, signal: abort.signal, ...(numbers.keys === undefined ? {} : { keys: numbers.keys }) });
    } catch (error) {
      if (!isAtpError(error, 'ATP_CALIBRATE_FAILED')) throw error;
      io.err(`atp-host calibrate: ${error.message}\n`);
      return 1;
    } finally {
      await target.close().catch(() => undefined);
    }
    const store = new CalibrationStore(configDir(location));
    if (flags.store !== false) await store.put(outcome.calibration);
    const c = outcome.calibration;
    if (flags.json === true) io.out(`${JSON.stringify({ calibration: c, file: flags.store === false ? undefined : store.file, warmUp: outcome.warmUp, runs: outcome.steps.map((s) => ({ phase: s.phase, ...s.result })) }, null, 2)}\n`);
    else {
      io.out(`  warm-up  ${String(outcome.warmUp.rate).padStart(4)} keys/s  ${outcome.warmUp.verdict.padEnd(5)} ${outcome.warmUp.defects} defect(s)  (not counted)\n`);
      for (const s of outcome.steps) io.out(`  ${s.phase.padEnd(8)} ${String(s.rate).padStart(4)} keys/s  ${s.result.verdict.padEnd(5)} ${s.result.defects} defect(s)  achieved ${s.result.achievedKeysPerS} keys/s  p50 ${s.result.latencyP50Ms ?? '-'} ms\n`);
      const device = c.inputDevice === undefined ? '' : `, ${c.inputDevice}`;
      const failed = c.failedAtKeysPerS === undefined ? `no failure up to ${numbers.maxRate ?? 480} keys/s` : `${c.failedAtKeysPerS} keys/s failed`;
      const edge = c.edgeKeysPerS === undefined || c.edgeKeysPerS === c.rateKeysPerS ? '' : `, kept below the edge ${c.edgeKeysPerS} keys/s`;
      io.out(`${c.vm} (${c.injector}${device}): ${c.rateKeysPerS} keys/s with zero defects (${failed}${edge}); last confirming run: achieved ${c.achievedKeysPerS ?? '-'} keys/s, latency p50 ${c.latencyP50Ms ?? '-'} ms, p99 ${c.latencyP99Ms ?? '-'} ms\n`);
      io.out(flags.store === false ? 'not stored (--no-store)\n' : `stored in ${store.file}: suites with defaults: { rate: calibrated } now run at ${c.rateKeysPerS} keys/s on ${c.vm}\n`);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await hub.close().catch(() => undefined);
    await connections.close().catch(() => undefined);
  }
}
