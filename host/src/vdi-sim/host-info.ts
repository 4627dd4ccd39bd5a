/**
 * The simulator's one hypervisor: this machine, reached at 127.0.0.1, status
 * 1 (enabled). Its id is stable per machine name (stableUuid), so a restarted
 * simulator reports the same host.
 */
import os from 'node:os';
import { stableUuid } from './ids.js';

export interface SimHost {
  id: string;
  name: string;
  ip: string;
  arch: string;
  cpu: string;
  cpuSize: number;
  createTime: number;
}

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686' };

export function thisHost(createTime: number): SimHost {
  const name = os.hostname();
  const cpus = os.cpus();
  return {
    id: stableUuid('host', name),
    name,
    ip: '127.0.0.1',
    arch: ARCH[os.arch()] ?? os.arch(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpuSize: cpus.length,
    createTime,
  };
}
