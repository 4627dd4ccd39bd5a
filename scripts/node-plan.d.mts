/** Types of scripts/node-plan.mjs (plain JS: it runs on the machine's node, before Node 22 exists). */
export function parseFloor(range: string): [number, number, number];
export function satisfies(version: string, range: string): boolean;

export interface PinnedNode {
  package: string;
  version: string;
  file: string;
  sha256: string;
}

export type NodePlan =
  | { kind: 'machine'; version: string }
  | { kind: 'pinned'; version: string; dir: string; package: string; file: string; sha256: string };

export function nodePlan(input: {
  nodeVersion: string;
  engines: string;
  pinned: { nodes?: Record<string, PinnedNode | undefined> };
  platform: string;
  arch: string;
  cacheBase: string;
}): NodePlan;
