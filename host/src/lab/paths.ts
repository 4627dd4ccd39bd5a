/**
 * Where the lab keeps things. Cache (downloaded .debs, extracted kernels,
 * built images): $ATP_LAB_CACHE, else $XDG_CACHE_HOME/atp/lab, else
 * ~/.cache/atp/lab. State of the running VM (sockets, state file, console
 * log): $ATP_LAB_STATE, else $XDG_RUNTIME_DIR/atp/lab, else <cache>/run.
 * A fleet (fleet.ts) lives in the same root: its VMs in <state>/vm-01 …
 * <state>/vm-NN beside the single VM's own files, so one `lab down` on a
 * root stops both.
 */
import os from 'node:os';
import path from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

export function defaultCacheDir(env: Env = process.env): string {
  if (env.ATP_LAB_CACHE) return path.resolve(env.ATP_LAB_CACHE);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'atp', 'lab');
}

export function defaultStateDir(env: Env = process.env, cacheDir: string = defaultCacheDir(env)): string {
  if (env.ATP_LAB_STATE) return path.resolve(env.ATP_LAB_STATE);
  if (env.XDG_RUNTIME_DIR) return path.join(path.resolve(env.XDG_RUNTIME_DIR), 'atp', 'lab');
  return path.join(cacheDir, 'run');
}

/** The files of one VM's state dir. Unix socket paths must stay under 108 bytes. */
export function statePaths(stateDir: string): {
  stateFile: string;
  qmp: string;
  qga: string;
  agent: string;
  console: string;
  qemuLog: string;
  /** The agent token, 0600: QEMU hands it to the guest as a fw_cfg file. */
  token: string;
  /** The SPICE server's unix socket (without TLS) and VNC server's unix socket (display.ts). */
  spice: string;
  vnc: string;
  /** The display passwords, 0600, read by QEMU as `-object secret,file=` (never on its command line). */
  spicePassword: string;
  vncPassword: string;
  /** The SPICE TLS material (x509-dir: ca-cert.pem, server-cert.pem, server-key.pem), 0700. */
  x509: string;
} {
  return {
    stateFile: path.join(stateDir, 'state.json'),
    qmp: path.join(stateDir, 'qmp.sock'),
    qga: path.join(stateDir, 'qga.sock'),
    agent: path.join(stateDir, 'agent.sock'),
    console: path.join(stateDir, 'console.log'),
    qemuLog: path.join(stateDir, 'qemu.log'),
    token: path.join(stateDir, 'agent.token'),
    spice: path.join(stateDir, 'spice.sock'),
    vnc: path.join(stateDir, 'vnc.sock'),
    spicePassword: path.join(stateDir, 'spice.password'),
    vncPassword: path.join(stateDir, 'vnc.password'),
    x509: path.join(stateDir, 'x509'),
  };
}

/** Fleet VM directories are named vm-01 … vm-NN: two digits at least, more when the count needs them, so names sort. */
export const FLEET_VM_DIR = /^vm-\d{2,}$/;

/** The name of the fleet's `index`-th VM (0-based) among `count`. */
export function fleetVmName(index: number, count: number): string {
  return `vm-${String(index + 1).padStart(Math.max(2, String(count).length), '0')}`;
}
