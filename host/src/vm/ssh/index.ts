/** SSH reach to remote hypervisors: strict host keys, exec and unix-socket channels, remote virsh, a shared-connection manager. */
export { SshConnection } from './connection.js';
export type { ExecOptions, SshConnectOptions, SshEndpoint } from './connection.js';
export { killChannel, runRemote } from './exec.js';
export type { RunOptions, RunResult } from './exec.js';
export { describeKey, hostKeyRefusal, loadKnownHosts, recordHostKey } from './host-keys.js';
export type { OfferedHostKey } from './host-keys.js';
export { checkHostKey, entryMatches, fingerprint, formatKnownHostLine, hashHostName, keyTypeOf, knownHostName, knownKeyTypes, parseKnownHosts } from './known-hosts.js';
export type { HostKeyVerdict, KnownHostEntry, ParsedKnownHosts } from './known-hosts.js';
export { LatencyWindow } from './latency.js';
export { SshConnectionManager } from './manager.js';
export type { HostMetrics, HostState, ManagedHost, SshManagerOptions } from './manager.js';
export { remoteLibvirtClient, sshFileStager, sshVirshSpawner } from './remote-virsh.js';
export type { ConnectionSource, RemoteLibvirtOptions } from './remote-virsh.js';
export { Semaphore } from './semaphore.js';
export { quoteShellArg, shellCommand, shellCommandWithEnv } from './shell-quote.js';
