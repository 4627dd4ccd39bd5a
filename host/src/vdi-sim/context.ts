/** Everything a route handler works with, built once by startSimulator. */
import type { TokenStore } from './auth.js';
import type { FaultState } from './faults.js';
import type { SimHost } from './host-info.js';
import type { LibvirtBackend } from './libvirt-backend.js';
import type { SimDirectory } from './seed.js';
import type { SimStore } from './store.js';
import type { TaskRunner } from './tasks.js';

export interface SimContext {
  store: SimStore;
  backend: LibvirtBackend;
  tasks: TaskRunner;
  tokens: TokenStore;
  faults: FaultState;
  host: SimHost;
  directory: SimDirectory;
  /** Clone dirs go under it, one per clone, named after the clone. */
  stateDir: string;
  /** When the simulator started (epoch ms): the models' createTime. */
  startedAt: number;
}
