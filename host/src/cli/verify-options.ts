/**
 * Small parsers for `atp-host verify`'s options: report specs, usage errors, and
 * the version written into reports.
 */
import { AtpError } from '@atp/protocol';
import { LAB_INPUT_PROFILES, LAB_KEYBOARDS, type LabInputProfile, type LabKeyboard } from '../lab/index.js';

export const REPORT_KINDS = ['json', 'junit', 'html'] as const;

export interface ReportSpec {
  kind: (typeof REPORT_KINDS)[number];
  file: string;
}

const isReportKind = (kind: string): kind is ReportSpec['kind'] => (REPORT_KINDS as readonly string[]).includes(kind);

/** A command-line mistake: exit code 2. */
export function verifyUsage(message: string): AtpError {
  return new AtpError('ATP_SCHEMA_INVALID', message, { details: { field: 'command line' } });
}

/** ["json:out.json,junit:out.xml", "html:r.html"] → specs; ATP_SCHEMA_INVALID for anything else. */
export function parseReportSpecs(values: readonly string[]): ReportSpec[] {
  const specs: ReportSpec[] = [];
  for (const part of values.flatMap((v) => v.split(','))) {
    const colon = part.indexOf(':');
    const kind = part.slice(0, colon);
    const file = part.slice(colon + 1);
    if (colon < 0 || !isReportKind(kind) || file === '') {
      throw verifyUsage(`--report ${JSON.stringify(part)}: expected json:FILE, junit:FILE or html:FILE`);
    }
    specs.push({ kind, file });
  }
  return specs;
}

/** What is wrong with `--vm` / `--vms` beside the other target flags, if anything. */
export function vmFlagProblem(flags: { vm?: string; vms?: string; lab?: boolean; qmp?: string; agent?: string; token?: string; platform?: string; pool?: string }): string | undefined {
  if (flags.pool !== undefined && flags.platform === undefined) return '--pool names a desk pool of a platform: it needs --platform NAME';
  if (flags.platform !== undefined) {
    if (flags.vm !== undefined) return '--platform picks VMs from the platform: select them with --pool and/or --vms SELECTOR, not --vm';
    if (flags.lab === true || flags.qmp !== undefined) return 'give one of --lab, --platform or --qmp';
    if (flags.agent !== undefined) return "--platform reaches each agent through its domain's org.atp.agent.0 channel: drop --agent";
    if (flags.token === undefined) return '--platform needs --token T (the token the pool\'s guest agents present); from --token-file FILE, --token-stdin or $ATP_TOKEN';
    return undefined;
  }
  if (flags.vm !== undefined && flags.vms !== undefined) return 'give either --vm NAME[@HOST] or --vms GLOB[@HOST], not both';
  const flag = flags.vm !== undefined ? '--vm' : '--vms';
  if (flags.vm === undefined && flags.vms === undefined) return undefined;
  if (flags.lab === true || flags.qmp !== undefined) return `give one of --lab, ${flag} or --qmp`;
  if (flags.agent !== undefined) return `${flag} reaches the agent through the domain's org.atp.agent.0 channel: drop --agent`;
  if (flags.token === undefined) return `${flag} needs --token T (the token the guest agent presents); from --token-file FILE, --token-stdin or $ATP_TOKEN`;
  return undefined;
}

/**
 * The lab's agent from `--lab-agent` / `--agent-binary` (a prebuilt single-file
 * agent, see `atp-host agent build`): at most one, and only with --lab.
 */
export function labAgentOptions(flags: { lab?: boolean; labAgent?: string; agentBinary?: string }): { agent?: string; agentBinary?: string } {
  if (flags.agentBinary === undefined) return flags.labAgent === undefined ? {} : { agent: flags.labAgent };
  if (flags.lab !== true) throw verifyUsage('--agent-binary boots the lab with that executable: it needs --lab');
  if (flags.labAgent !== undefined) throw verifyUsage('give either --lab-agent (an entry to bundle) or --agent-binary (a single-file agent), not both');
  return { agentBinary: flags.agentBinary };
}

/** `--lab-input` / `--lab-keyboard`: the lab guest's input devices and the keyboard QMP input is routed to; only with --lab. */
export function labInputOptions(flags: { lab?: boolean; labInput?: string; labKeyboard?: string }): { inputProfile?: LabInputProfile; keyboard?: LabKeyboard } {
  if (flags.labInput === undefined && flags.labKeyboard === undefined) return {};
  if (flags.lab !== true) throw verifyUsage('--lab-input and --lab-keyboard shape the lab VM: they need --lab');
  const pick = <T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined => {
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw verifyUsage(`${flag} expects one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  };
  const inputProfile = pick(flags.labInput, LAB_INPUT_PROFILES, '--lab-input');
  const keyboard = pick(flags.labKeyboard, LAB_KEYBOARDS, '--lab-keyboard');
  if (keyboard !== undefined && keyboard !== 'ps2' && inputProfile !== 'desktop') throw verifyUsage(`--lab-keyboard ${keyboard} needs --lab-input desktop (the minimal guest has only the PS/2 keyboard)`);
  return { ...(inputProfile === undefined ? {} : { inputProfile }), ...(keyboard === undefined ? {} : { keyboard }) };
}

export { HOST_VERSION } from './host-version.js';
