/**
 * Hosts and VMs: every host of hosts.yaml (GET /api/v1/hosts) with its libvirt
 * domains and their state (GET /api/v1/hosts/:name/vms), plus the lab target.
 * Reloads when an agent comes or goes or a run changes status (live events),
 * and every 15 s for state changes nothing announces (a VM shut down by hand).
 */
import { describeError, getParsed } from '../api.js';
import { fill, formatTime, h, pill, table, type Child } from '../dom.js';
import { EventStream } from '../events.js';
import { ApiHostListSchema, ApiVmListSchema, type ApiHost } from '@atp/protocol';
import { routeHash } from '../router.js';
import { throttle, type App, type View } from '../view.js';

const POLL_MS = 15_000;

/** The selector a run takes for a domain: NAME on this machine's default host, NAME@HOST elsewhere. */
export function vmTarget(host: Pick<ApiHost, 'name' | 'source'>, domain: string): string {
  return host.source === 'default' ? domain : `${domain}@${host.name}`;
}

async function hostSection(host: ApiHost, signal: AbortSignal): Promise<HTMLElement> {
  const where = host.kind === 'ssh' ? `${host.user}@${host.host}:${host.port}` : 'this machine';
  const headingId = `host-${host.name}`;
  const heading = h('h2', { id: headingId }, host.name, ' ', h('span', { class: 'muted small' }, `${where} · ${host.libvirtUri}`));
  let body: Child;
  try {
    const { domains } = await getParsed(`/hosts/${encodeURIComponent(host.name)}/vms`, ApiVmListSchema, signal);
    body = table(
      `VMs on ${host.name}`,
      ['VM', 'State', 'Id', ''],
      domains.map(({ name, state, id }) => {
        return [name, pill(state), id === undefined ? '–' : String(id), h('a', { href: routeHash({ view: 'start', vm: vmTarget(host, name) }), 'aria-label': `Start a run on ${name}` }, 'Start a run')];
      }),
      { empty: `No VMs on ${host.name}.` },
    );
  } catch (error) {
    if (signal.aborted) throw error;
    body = h('p', { class: 'error' }, `Cannot list the VMs of ${host.name}: ${describeError(error)}`);
  }
  return h('section', { class: 'card', 'aria-labelledby': headingId }, heading, body);
}

export function hostsView(app: App): View {
  const content = h('div', { class: 'stack', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading hosts…'));
  const updated = h('p', { class: 'muted small', role: 'status' });
  const refreshButton = h('button', { type: 'button' }, 'Refresh');
  let controller: AbortController | undefined;

  const load = async (): Promise<void> => {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    content.setAttribute('aria-busy', 'true');
    try {
      const { hosts } = await getParsed('/hosts', ApiHostListSchema, mine.signal);
      const sections = await Promise.all(hosts.map((host) => hostSection(host, mine.signal)));
      if (mine.signal.aborted) return;
      fill(content, sections.length === 0 ? h('p', { class: 'muted' }, 'No hosts configured (hosts.yaml). The lab target below needs none.') : sections, labSection());
      updated.textContent = `Updated ${formatTime(new Date().toISOString())}`;
    } catch (error) {
      if (mine.signal.aborted) return;
      fill(content, h('p', { class: 'error' }, `Cannot list the hosts: ${describeError(error)}`), labSection());
    } finally {
      if (controller === mine) content.setAttribute('aria-busy', 'false');
    }
  };
  const refresh = throttle(() => void load(), 2_000);
  refreshButton.addEventListener('click', () => refresh());
  const timer = setInterval(refresh, POLL_MS);
  const stream = new EventStream({
    kinds: ['agent', 'run'],
    after: 'now',
    onEvent: (event) => {
      if (event.kind === 'agent' || event.data.type === 'run-status') refresh();
    },
    onGap: () => refresh(),
    onState: (state, detail) => app.setLive(state, detail),
  });
  refresh();

  const root = h(
    'section',
    { class: 'view' },
    h('div', { class: 'view-head' }, h('h1', { id: 'view-title', tabindex: '-1' }, 'Hosts and VMs'), refreshButton),
    updated,
    content,
  );
  return {
    title: 'Hosts and VMs',
    root,
    dispose: () => {
      controller?.abort();
      refresh.cancel();
      clearInterval(timer);
      stream.close();
    },
  };
}

function labSection(): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'host-lab' },
    h('h2', { id: 'host-lab' }, 'Lab ', h('span', { class: 'muted small' }, 'QEMU on this server')),
    h('p', {}, 'The lab target boots its own VM (or several) with the guest agent for the run and stops it afterwards.'),
    h('a', { href: routeHash({ view: 'start', vm: 'lab' }) }, 'Start a run on the lab'),
  );
}
