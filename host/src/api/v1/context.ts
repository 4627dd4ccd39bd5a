/**
 * What API handlers reach: the server's agent hub, the config location
 * (hosts.yaml, platforms.yaml), the live event log, and the services other
 * areas register (the run manager and its store). Built once per server by
 * `atp-host serve`; tests build their own.
 */
import type { ConfigLocation } from '../../config/paths.js';
import type { AgentHub } from '../../hub/index.js';
import type { EventLog } from './event-log.js';

export interface ApiContext {
  hub: AgentHub;
  location: ConfigLocation;
  events: EventLog;
  /** The server's own log lines (also published as `log` events). */
  log(line: string): void;
  /** Services by name, set by the areas that own them (e.g. 'runs' → the RunManager). */
  services: Map<string, unknown>;
}
