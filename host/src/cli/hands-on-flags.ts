/** The target flags `atp-host watch` and `interactive` share (hands-on-target.ts checks them and opens the target). */
import type { Command } from 'commander';

export interface TargetFlags {
  lab?: boolean;
  cacheDir?: string;
  labInput?: string;
  labKeyboard?: string;
  vm?: string;
  configDir?: string;
  qmp?: string;
  agent?: string;
  token?: string;
  tokenFile?: string;
  tokenStdin?: boolean;
  agentId?: string;
  timeout?: string;
}

/** Adds the target flags to a command. */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--lab', 'boot the lab VM with the guest agent (stopped at the end)')
    .option('--cache-dir <dir>', 'with --lab: downloads and built images (env ATP_LAB_CACHE)')
    .option('--lab-input <profile>', "with --lab: the guest's input devices, minimal or desktop")
    .option('--lab-keyboard <kbd>', 'with --lab: the keyboard QMP input goes to: ps2 (default), virtio or usb (the last two need --lab-input desktop)')
    .option('--vm <name[@host]>', 'a running libvirt domain (HOST from hosts.yaml; default this machine), with --token')
    .option('--config-dir <dir>', 'with --vm: config directory holding hosts.yaml')
    .option('--qmp <socket>', "a running VM's QMP unix socket, with --agent and --token")
    .option('--agent <endpoint>', 'with --qmp: where the agent reaches the hub: virtio:SOCKET, tcp:PORT or ws:PORT')
    .option('--token-file <file>', 'the token the agent presents, from a file (mode 0600, one line); or --token-stdin, or $ATP_TOKEN')
    .option('--token-stdin', 'read the agent token from the first line of standard input (interactive reads its commands after it)')
    .option('--token <token>', 'the token the agent presents (visible in ps: prefer --token-file, --token-stdin or $ATP_TOKEN)')
    .option('--agent-id <id>', 'with --qmp and a tcp/ws endpoint: the agent to observe (default: the first that connects)')
    .option('--timeout <seconds>', 'how long to wait for the agent (default 120)');
}
