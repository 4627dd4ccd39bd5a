/**
 * A TCP forwarder between an agent and the hub that cuts connections on
 * command: test infrastructure for the chaos test, not a mock (both ends are
 * the real agent session and the real hub, and the bytes pass unchanged).
 * The upstream port can change (a restarted hub); while there is none, new
 * connections are dropped at once, as a refused connect would be.
 */
import net from 'node:net';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

export class ChaosProxy {
  /** Where new connections go; undefined while no hub listens. */
  target: number | undefined;
  /** Connections cut by cutNow() or cutAfter(). */
  cuts = 0;
  private readonly server = net.createServer({ noDelay: true, pauseOnConnect: true });
  private readonly pairs = new Set<Pair>();
  /** Bytes (agent → hub) still allowed through before the next cut; undefined: no cut armed. */
  private budget: number | undefined;

  private constructor() {
    this.server.on('connection', (client) => this.accept(client));
  }

  static async start(): Promise<ChaosProxy> {
    const proxy = new ChaosProxy();
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Connections open through the proxy right now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Cuts every open connection at once (both directions); returns how many. */
  cutNow(): number {
    const n = this.pairs.size;
    for (const pair of [...this.pairs]) this.drop(pair);
    this.cuts += n;
    this.budget = undefined;
    return n;
  }

  /** Cuts the connections once `bytes` more bytes went from the agent to the hub, most likely in the middle of a frame. */
  cutAfter(bytes: number): void {
    this.budget = Math.max(0, bytes);
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => client.destroy());
    const port = this.target;
    if (port === undefined) {
      client.destroy();
      return;
    }
    const upstream = net.createConnection({ host: '127.0.0.1', port });
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    upstream.on('error', () => this.drop(pair));
    upstream.on('close', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    upstream.once('connect', () => {
      if (!this.pairs.has(pair)) return;
      client.on('data', (chunk: Buffer) => this.forward(pair, chunk));
      upstream.on('data', (chunk: Buffer) => {
        if (!client.write(chunk)) upstream.pause();
      });
      client.on('drain', () => upstream.resume());
      upstream.on('drain', () => client.resume());
      client.resume();
    });
  }

  private forward(pair: Pair, chunk: Buffer): void {
    const budget = this.budget;
    if (budget !== undefined && chunk.length >= budget) {
      // Let part of the chunk through, then cut: the hub sees a torn frame.
      pair.upstream.write(chunk.subarray(0, budget), () => this.cutNow());
      this.budget = undefined;
      return;
    }
    if (budget !== undefined) this.budget = budget - chunk.length;
    if (!pair.upstream.write(chunk)) pair.client.pause();
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
