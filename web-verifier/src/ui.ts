/**
 * What the tester sees: connection state, the current step, the verdict banner,
 * the last events and the text the capture area received. Rendering only; the
 * elements come from static/index.html (ids below).
 */
import type { ObservedEvent } from '@atp/protocol';
import type { LinkStatus } from './link.js';

const MAX_LOG = 60;

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`the page has no #${id}`);
  return el;
}

/** Visible whitespace, so a tester can tell a space from a tab from a line break. */
export function visibleText(text: string): string {
  return text.replace(/ /g, '·').replace(/\t/g, '⇥').replace(/\n/g, '⏎\n');
}

export function describeEvent(e: ObservedEvent): string {
  const head = `#${e.seq} ${e.kind}`;
  switch (e.kind) {
    case 'key': {
      const mods = e.modifiers !== undefined && e.modifiers.length > 0 ? ` [${e.modifiers.join('+')}]` : '';
      return `${head} ${e.action} ${e.key} code=${e.native?.domCode ?? ''} key=${JSON.stringify(e.native?.domKey ?? '')}${mods}`;
    }
    case 'text':
      return `${head} ${JSON.stringify(e.text)} ${e.inputType ?? ''}${e.composing === true ? ' (composing)' : ''}`;
    case 'composition':
      return `${head} ${e.phase} ${JSON.stringify(e.data)}`;
    case 'button':
      return `${head} ${e.button} ${e.action} at ${e.x ?? '?'},${e.y ?? '?'}`;
    case 'abs':
      return `${head} ${e.x},${e.y}`;
    case 'wheel':
      return `${head} dy=${e.dy} dx=${e.dx}`;
    case 'focus':
      return `${head} ${e.state}`;
    default:
      return head;
  }
}

const STATE_LABEL: Record<LinkStatus['state'], string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  handshake: 'Signing in…',
  ready: 'Connected',
  backoff: 'Reconnecting',
  refused: 'Refused',
  stopped: 'Stopped',
};

export class VerifierView {
  readonly area = byId('capture', HTMLTextAreaElement);
  private readonly state = byId('link-state', HTMLElement);
  private readonly detail = byId('link-detail', HTMLElement);
  private readonly counters = byId('counters', HTMLElement);
  private readonly step = byId('step', HTMLElement);
  private readonly verdict = byId('verdict', HTMLElement);
  private readonly verdictDetail = byId('verdict-detail', HTMLElement);
  private readonly log = byId('event-log', HTMLOListElement);
  private readonly produced = byId('produced', HTMLElement);
  private readonly agent = byId('agent', HTMLElement);

  constructor() {
    this.area.addEventListener('input', () => this.showText());
    byId('clear', HTMLButtonElement).addEventListener('click', () => {
      this.area.value = '';
      this.showText();
      this.area.focus();
    });
    this.showText();
  }

  setAgent(agentId: string, bootId: string): void {
    this.agent.textContent = `agent ${agentId} · boot ${bootId}`;
  }

  setLink(status: LinkStatus): void {
    this.state.textContent = STATE_LABEL[status.state];
    this.state.dataset.state = status.state;
    const retry = status.retryInMs === undefined || status.state === 'ready' ? '' : ` · retry in ${(status.retryInMs / 1000).toFixed(1)} s`;
    this.detail.textContent = status.detail + retry;
    const d = status.delivery;
    this.counters.textContent = `sent up to #${d.lastSeq ?? 0} · acked #${d.acked ?? 0} · waiting ${d.unacked} · lost ${d.overflowed}`;
  }

  setProblems(problems: readonly string[]): void {
    this.state.textContent = 'Not configured';
    this.state.dataset.state = 'refused';
    this.detail.textContent = problems.join(' · ');
  }

  setStep(text: string | undefined): void {
    this.step.textContent = text === undefined || text === '' ? 'No step from the host yet' : text;
  }

  /** undefined hides the banner. */
  setVerdict(verdict: 'pass' | 'fail' | undefined, detail?: string): void {
    this.verdict.hidden = verdict === undefined;
    this.verdict.dataset.verdict = verdict ?? '';
    const label = this.verdict.querySelector('.verdict-label');
    if (label !== null) label.textContent = verdict === undefined ? '' : verdict.toUpperCase();
    this.verdictDetail.textContent = detail ?? '';
  }

  addEvent(e: ObservedEvent): void {
    this.addLine(describeEvent(e), e.kind);
  }

  addNote(text: string): void {
    this.addLine(text, 'note');
  }

  private addLine(text: string, kind: string): void {
    const li = document.createElement('li');
    li.textContent = text;
    li.dataset.kind = kind;
    this.log.prepend(li);
    while (this.log.children.length > MAX_LOG) this.log.lastElementChild?.remove();
  }

  private showText(): void {
    const value = this.area.value;
    this.produced.textContent = value === '' ? '(nothing typed yet)' : visibleText(value.slice(-400));
    this.produced.dataset.length = String(value.length);
  }
}
