/**
 * What the page reads from its URL: where the hub is and how to sign in.
 *
 *   ?hub=ws://HOST:PORT/ws   hub WebSocket URL; default: the /ws endpoint of the
 *                            server that served the page (required for file://)
 *   &token=T                 hub token (required)
 *   &agent=ID                agent id the hub files events under (default "web")
 *   &wheelPx=N               pixels per wheel notch for deltaMode 0 (default 100)
 *
 * The URL hash carries what the host shows the tester: #step=…&verdict=pass|fail&detail=…
 */

export interface VerifierConfig {
  hubUrl: string | undefined;
  token: string | undefined;
  agentId: string;
  wheelPxPerNotch: number;
  /** Why the page cannot connect (missing or invalid parameters), for the tester. */
  problems: string[];
}

export interface HashState {
  step: string | undefined;
  verdict: 'pass' | 'fail' | undefined;
  detail: string | undefined;
}

const AGENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const DEFAULT_AGENT_ID = 'web';
export const DEFAULT_WHEEL_PX_PER_NOTCH = 100;

/** `location` is passed in so this stays testable without a page. */
export function readConfig(location: { search: string; protocol: string; host: string }): VerifierConfig {
  const params = new URLSearchParams(location.search);
  const problems: string[] = [];
  let hubUrl = params.get('hub') ?? undefined;
  if (hubUrl === undefined && (location.protocol === 'http:' || location.protocol === 'https:')) {
    hubUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  }
  if (hubUrl === undefined) problems.push('no hub URL: add ?hub=ws://HOST:PORT/ws to the page address');
  else if (!/^wss?:\/\/[^\s]+$/.test(hubUrl)) {
    problems.push(`hub URL ${JSON.stringify(hubUrl)} is not a ws:// or wss:// URL`);
    hubUrl = undefined;
  }
  const token = params.get('token') ?? undefined;
  if (token === undefined || token === '') problems.push('no token: add &token=… (the hub token) to the page address');
  const agentParam = params.get('agent');
  let agentId = DEFAULT_AGENT_ID;
  if (agentParam !== null) {
    if (AGENT_ID.test(agentParam)) agentId = agentParam;
    else problems.push(`agent id ${JSON.stringify(agentParam)} must be 1-128 letters, digits or . _ : -`);
  }
  const wheelParam = Number(params.get('wheelPx') ?? DEFAULT_WHEEL_PX_PER_NOTCH);
  const wheelPxPerNotch = Number.isFinite(wheelParam) && wheelParam > 0 ? wheelParam : DEFAULT_WHEEL_PX_PER_NOTCH;
  return { hubUrl, token: token === '' ? undefined : token, agentId, wheelPxPerNotch, problems };
}

export function readHash(hash: string): HashState {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const verdict = params.get('verdict');
  return {
    step: params.get('step') ?? undefined,
    verdict: verdict === 'pass' || verdict === 'fail' ? verdict : undefined,
    detail: params.get('detail') ?? undefined,
  };
}

/** A random id for this page load (crypto.randomUUID needs a secure context; getRandomValues does not). */
export function newBootId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `page-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
