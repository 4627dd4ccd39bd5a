/**
 * The host end of a FIFO pair standing in for a virtio-serial port (the real
 * port arrives with the lab VM). The agent's VirtioLink reads `toAgent` and
 * writes `fromAgent`. While the host end is open the agent's reads get EAGAIN
 * (connected, no data); once it closes they get EOF, as a real port returns EOF
 * while no host client is connected. The host opens both FIFOs read/write so
 * that its own opens never block and never see EOF.
 */
import { execFileSync } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { HubConnection, TestHub } from './test-hub.js';

export class FifoPort {
  readonly toAgent: string;
  readonly fromAgent: string;
  private sockets: net.Socket[] = [];

  constructor(dir: string) {
    this.toAgent = path.join(dir, 'to-agent');
    this.fromAgent = path.join(dir, 'from-agent');
    execFileSync('mkfifo', [this.toAgent, this.fromAgent]);
  }

  /** Opens the host end and serves it with `hub`. */
  attach(hub: TestHub): HubConnection {
    const input = new net.Socket({ fd: openSync(this.fromAgent, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false });
    const output = new net.Socket({ fd: openSync(this.toAgent, constants.O_RDWR | constants.O_NONBLOCK), readable: false, writable: true });
    this.sockets = [input, output];
    return hub.attachStream('virtio', input, output, () => this.detach());
  }

  /** Closes the host end: the agent reads EOF. */
  detach(): void {
    for (const s of this.sockets.splice(0)) s.destroy();
  }
}
