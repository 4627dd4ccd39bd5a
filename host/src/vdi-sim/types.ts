/**
 * The simulator's public types, exactly as the shared design fixes them
 * (the OCloudView client's tests start the simulator through these).
 */

export interface SimUserSeed {
  /** Platform user id (UUID string); default: derived from sAMAccountName. */
  id?: string;
  sAMAccountName: string;
  displayName: string;
  /** Plain text: the end user's own login. */
  password: string;
  /** The organisation unit the user belongs to: its `ou` name or its distinguishedName. */
  ou: string;
}

export interface SimSeed {
  /** The admin login; the API receives the MD5 of `password`. */
  admin: { username: string; password: string };
  ous: { ou: string; distinguishedName: string; children?: SimSeed['ous'] }[];
  users: SimUserSeed[];
}

export interface SimulatorOptions {
  /** libvirt URI of the hypervisor it manages (default qemu:///system); the host list has one host: this machine (ip 127.0.0.1). */
  uri?: string;
  /** Template domains offered as models: libvirt domain names (defined, normally shut off). */
  models: string[];
  /** Where clone dirs (sockets, logs, overlays) go. */
  stateDir: string;
  /** Default: admin/admin123, one OU, two users (DEFAULT_SEED). */
  seed?: SimSeed;
  /** Default 30 min; older tokens answer status 1006. */
  tokenLifetimeMs?: number;
  /** Default 127.0.0.1:0 (a free port). */
  listen?: { host?: string; port?: number };
}

export interface SimRequestMatch {
  /** HTTP method, any case; absent: every method. */
  method?: string;
  /** Tested against the request path without its query string. */
  path: RegExp;
}

export interface SimFaults {
  /** The next `times` (default 1) matching calls answer HTTP 500 with a non-envelope body. */
  failHttp(match: SimRequestMatch, times?: number): void;
  /** Matching calls never answer until the returned function is called (then they proceed normally). */
  hang(match: SimRequestMatch): () => void;
  /** The next batch task naming this domain puts it in errorList (the envelope's status is still 0). */
  batchError(domainId: string, errorMsg: string): void;
  /** Start on this domain reports success but it never reaches status 1 (nothing is created in libvirt). */
  neverRunning(domainId: string): void;
  /** Every issued token is now expired (the next call with it answers 1006). */
  expireTokens(): void;
}

export interface Simulator {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  faults: SimFaults;
  /** Stops the HTTP server, destroys every domain it created and removes the clone dirs. */
  close(): Promise<void>;
}
