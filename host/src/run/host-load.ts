/**
 * The host's own load over a run: event-loop delay (perf_hooks'
 * monitorEventLoopDelay histogram), this process's CPU and its largest RSS.
 * A saturated host shows up here, in the report, instead of as guest latency.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HostLoad } from '@atp/protocol';

export class HostLoadMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly cpuStart = process.cpuUsage();
  private readonly wallStart = performance.now();
  private maxRss = process.memoryUsage.rss();
  private readonly sampler: NodeJS.Timeout;

  constructor() {
    this.histogram.enable();
    this.sampler = setInterval(() => (this.maxRss = Math.max(this.maxRss, process.memoryUsage.rss())), 1000);
    this.sampler.unref();
  }

  /** Stops measuring and returns the figures. */
  stop(): HostLoad {
    this.histogram.disable();
    clearInterval(this.sampler);
    this.maxRss = Math.max(this.maxRss, process.memoryUsage.rss());
    const cpu = process.cpuUsage(this.cpuStart);
    const wallMs = Math.max(1, performance.now() - this.wallStart);
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0);
    return {
      eventLoopDelay: { p50Ms: ms(this.histogram.percentile(50)), p99Ms: ms(this.histogram.percentile(99)), maxMs: ms(this.histogram.max) },
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
      maxRssMb: Math.round(this.maxRss / 1048576),
    };
  }
}
