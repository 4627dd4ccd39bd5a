/**
 * Entry point of the web verifier page: reads the URL, starts capture and the
 * hub link, and exposes a small control surface for the host or a test:
 *
 *   window.atpVerifier.setStep(text) / setVerdict('pass' | 'fail' | null, detail?)
 *   window.atpVerifier.status()  → link state and delivery counters
 *   URL hash: #step=…&verdict=pass|fail&detail=…  (read at load and on hashchange)
 *   the host's `status` messages over the hub link (step progress, final verdict)
 */
import { PROTOCOL_VERSION, type ObservedEvent, type StatusBody } from '@atp/protocol';
import { Capture } from './capture.js';
import { newBootId, readConfig, readHash } from './config.js';
import type { VerifierControl } from './control.js';
import { VerifierLink } from './link.js';
import { VerifierView } from './ui.js';

export const PAGE_VERSION = '0.1.0';

const KEEP_EVENTS = 1000;

function browserOs(): { platform: string; release: string; arch: string } {
  const ua = navigator.userAgent;
  return { platform: `browser:${navigator.platform}`.slice(0, 256), release: ua.slice(0, 256), arch: '' };
}

/** The host's `status` message on the page: a present field replaces, null clears, absent keeps. */
function showHostStatus(view: VerifierView, status: StatusBody): void {
  if (status.step !== undefined) view.setStep(status.step === null ? undefined : `Step ${status.step.index + 1}/${status.step.total}: ${status.step.name}`);
  if (status.verdict !== undefined) {
    const verdict = status.verdict === 'pass' || status.verdict === 'fail' ? status.verdict : undefined;
    view.setVerdict(verdict, status.detail);
  }
}

function main(): void {
  const view = new VerifierView();
  const config = readConfig(window.location);
  const bootId = newBootId();
  view.setAgent(config.agentId, bootId);
  const recent: ObservedEvent[] = [];
  let link: VerifierLink | undefined;

  const applyHash = (): void => {
    const hash = readHash(window.location.hash);
    view.setStep(hash.step);
    view.setVerdict(hash.verdict, hash.detail);
  };
  applyHash();
  window.addEventListener('hashchange', applyHash);

  if (config.hubUrl !== undefined && config.token !== undefined && config.problems.length === 0) {
    link = new VerifierLink({
      url: config.hubUrl,
      bootId,
      identity: {
        agentId: config.agentId,
        bootId,
        os: browserOs(),
        captureBackends: ['dom'],
        capabilities: ['text', 'composition', 'focus'],
        version: `web-verifier ${PAGE_VERSION}`,
        token: config.token,
      },
      onStatus: (status) => view.setLink(status),
      onHostStatus: (status) => showHostStatus(view, status),
    });
  } else {
    view.setProblems(config.problems);
  }

  const capture = new Capture(
    view.area,
    {
      event: (input) => {
        // Without a link the page still shows what it sees, numbered locally.
        const event = link?.push(input) ?? ({ ...input, seq: recent.length + 1 } as ObservedEvent);
        recent.push(event);
        if (recent.length > KEEP_EVENTS) recent.shift();
        view.addEvent(event);
      },
      note: (text) => view.addNote(text),
    },
    config.wheelPxPerNotch,
  );
  capture.start();
  // Initial focus and visibility, so a later blur or a stuck modifier has a before.
  const initial = new Event('atp-initial');
  capture.report(initial, document.visibilityState === 'hidden' ? 'hidden' : 'visible');
  capture.report(initial, document.hasFocus() ? 'focus' : 'blur');
  link?.start();

  window.addEventListener('beforeunload', (e) => {
    if ((link?.sender.unacked ?? 0) > 0) e.preventDefault();
  });

  const control: VerifierControl = {
    protocolVersion: PROTOCOL_VERSION,
    agentId: config.agentId,
    bootId,
    setStep: (text) => view.setStep(text ?? undefined),
    setVerdict: (verdict, detail) => view.setVerdict(verdict ?? undefined, detail),
    status: () => link?.status() ?? { state: 'unconfigured', problems: [...config.problems] },
    events: () => [...recent],
  };
  window.atpVerifier = control;
}

main();
