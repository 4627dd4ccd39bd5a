/**
 * `atp-host verify <suite...>`: runs suites against VMs and reports, through
 * the run engine (host/src/run/). verify-action.ts only checks flags, builds the
 * target openers, prints progress and writes the reports.
 *
 *  - `--lab [--count N]`: boots N lab VMs (lab, or lab-01…lab-NN) with the
 *    agent, runs, and always stops them (finally, and on SIGINT/SIGTERM);
 *  - `--qmp SOCKET --agent virtio:SOCKET|tcp:PORT|ws:PORT --token T`: a VM that
 *    is already running, observed by an agent that connects with the token;
 *  - `--vm NAME[@HOST] --token T`: a running libvirt domain (targets/libvirt-target.ts);
 *  - `--vms SELECTOR[@HOST] --token T [--exclude SELECTOR] [--limit N]`: every
 *    running domain the selector (glob, `re:REGEX`, comma list) matches;
 *    shut-off ones are skipped and named;
 *  - a version 2 suite (platform steps; verify-platform-suite.ts) names its own
 *    platform and pool: `atp-host verify pool.yaml --token T`;
 *  - `--platform NAME [--pool POOL] [--vms SELECTOR] --token T`: the running
 *    VMs of an OCloudView platform (platforms.yaml), of one desk pool or all,
 *    each placed on its hypervisor and opened as a libvirt target
 *    (targets/platform.ts).
 * The agent token (T above) comes from --token-file FILE (0600), --token-stdin,
 * $ATP_TOKEN or --token T (with a warning: ps shows it); secret-source.ts reads it.
 * Fleet flags: --concurrent N VMs at once, --loop N rounds or --duration 30m,
 * --on-failure continue|stop-all|fail-fast (run/engine.ts says what each does).
 * Every suite is loaded and planned before anything boots, so a bad suite fails
 * fast with its file:line:column. Output: a live fleet line on a TTY (stderr),
 * one line per VM event when stderr is not a TTY and there are several VMs, a
 * summary (coloured on a TTY unless NO_COLOR); `--json` prints the ReportV1
 * instead, `--report json:FILE,junit:FILE,html:FILE` writes files.
 * Exit codes (run/outcome.ts): 0 every VM passed, 1 a VM failed verification
 * or had an infrastructure error while others were verified, 2 usage or suite
 * error, 3 nothing could be verified (infrastructure) or a signal stopped the run.
 * This file defines the command; verify-action.ts runs it.
 */
import type { Command } from 'commander';
import { addInjectorOptions } from './injector-flags.js';
import type { CliIo } from './program.js';
import type { VerifyFlags } from './verify-action.js';

export interface VerifyHooks {
  setExitCode: (code: number) => void;
  /** True when `io` writes to this process's stdout/stderr (TTY checks, signal handlers apply). */
  processIo: boolean;
}

export function registerVerifyCommand(program: Command, io: CliIo, hooks: VerifyHooks): void {
  const command = program
    .command('verify')
    .description('run suites against VMs: inject their input, check what each guest observed, report')
    .argument('[suite...]', 'suite files (YAML)')
    .option('--lab', 'boot the lab VM with the guest agent, run, and stop it')
    .option('--count <n>', 'with --lab: boot this many lab VMs (lab-01 …), each with its own UUID, token and sockets')
    .option('--boot-concurrency <n>', 'with --lab --count: lab VMs booting at once (default: the CPU count, at least 2)')
    .option('--state-dir <dir>', 'with --lab (one VM): state dir of the VM (default: a temp dir)')
    .option('--cache-dir <dir>', 'with --lab: downloads and built images (env ATP_LAB_CACHE)')
    .option('--lab-agent <path>', 'with --lab: the guest agent to bundle (default guest-agent/src/main.ts)')
    .option('--agent-binary <file>', 'with --lab: a prebuilt single-file agent (atp-host agent build --target linux-x64) instead of node + bundle')
    .option('--lab-input <profile>', "with --lab: the guest's input devices, minimal (PS/2 keyboard and mouse, USB tablet) or desktop (also USB keyboard, virtio keyboard, mouse and tablet)")
    .option('--lab-keyboard <kbd>', 'with --lab: the keyboard QMP input goes to: ps2 (default), virtio or usb (the last two need --lab-input desktop)')
    .option('--lab-memory <MiB>', 'with --lab: guest RAM per lab VM')
    .option('--vm <name[@host]>', 'a running libvirt domain (HOST from hosts.yaml; default this machine), with --token')
    .option('--vms <selector[@host]>', 'every running libvirt domain the selector matches: a glob (*, ?, [abc]), re:REGEX or a comma list; with --token; shut-off ones are skipped (and named)')
    .option('--platform <name>', 'the running VMs of an OCloudView platform (platforms.yaml), with --token; narrow with --pool and --vms')
    .option('--pool <pool>', 'with --platform: the VMs of this desk pool (name or id)')
    .option('--exclude <selector>', 'with --vms or --platform: leave out the VMs this selector matches')
    .option('--limit <n>', 'with --vms or --platform: at most this many VMs (in the listed order)')
    .option('--concurrent <n>', 'verify this many VMs at once (default: all, at most 4)')
    .option('--loop <n>', 'run the suites this many rounds on every VM')
    .option('--duration <time>', 'keep starting rounds until this much time has passed (90s, 30m, 2h); stops between rounds')
    .option('--on-failure <policy>', 'when a VM does not pass: continue (default), stop-all (finish running suites, start nothing new) or fail-fast (interrupt everything now)')
    .option('--config-dir <dir>', 'with --vm/--vms/--platform: config directory holding hosts.yaml and platforms.yaml')
    .option('--qmp <socket>', "the VM's QMP unix socket")
    .option('--agent <endpoint>', 'where the agent reaches the hub: virtio:SOCKET, tcp:PORT or ws:PORT')
    .option('--token-file <file>', 'the token the agents present, from a file (mode 0600, one line); or --token-stdin, or $ATP_TOKEN')
    .option('--token-stdin', 'read the agent token from the first line of standard input')
    .option('--token <token>', 'the token the agent presents (visible in ps: prefer --token-file, --token-stdin or $ATP_TOKEN)')
    .option('--agent-id <id>', 'with --qmp and a tcp/ws endpoint: the agent to observe with (default: the first that connects)')
    .option('--timeout <seconds>', 'how long to wait for the agent (default 120)')
    .option('--layout <name>', "the guest's keyboard layout for text (overrides the suites')")
    .option('--rate <keys/s>', 'open-loop pacing at this many keystrokes per second')
    .option('--closed-loop [maxInFlight]', 'closed-loop pacing: send as the agent sees keys, counting what is in flight in guest input events (at most 56, 15 on the AT and USB keyboards); a number N bounds key presses in flight instead')
    .option('--report <specs...>', 'write reports: json:FILE, junit:FILE, html:FILE (comma-separated or repeated)')
    .option('--json', 'print the JSON report to stdout instead of the summary');
  addInjectorOptions(command).action(async (files: string[], flags: VerifyFlags) => {
    // `--closed-loop suite.yaml`: commander took the suite as the optional window.
    if (typeof flags.closedLoop === 'string' && !/^\d+$/.test(flags.closedLoop)) {
      files.unshift(flags.closedLoop);
      flags.closedLoop = true;
    }
    hooks.setExitCode(await (await import('./verify-action.js')).verify(files, flags, io, hooks.processIo));
  });
}
