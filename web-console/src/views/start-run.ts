/**
 * Start a run: suites (GET /api/v1/suites) × a target (lab VMs, or VMs of a
 * host by name, glob or comma list), with the fleet options (concurrency,
 * rounds, on-failure) → POST /api/v1/runs → the run's live page. The request
 * body is built by `runRequest` (pure, tested); the server validates it and a
 * refusal names the field, shown next to the form.
 */
import { describeError, getParsed, postJson } from '../api.js';
import { fill, h } from '../dom.js';
import { type App, type View } from '../view.js';
import { ApiHostListSchema, ApiRunCreatedSchema, ApiSuiteListSchema, parseWith, RUN_FAILURE_POLICIES, type ApiRunRequest, type RunFailurePolicy } from '@atp/protocol';

export interface RunForm {
  suites: string[];
  target: { kind: 'lab'; count: number } | { kind: 'vms'; selector: string; host: string; token: string };
  concurrency?: number;
  rounds?: number;
  onFailure: RunFailurePolicy;
  /** Closed loop: keys go out as fast as the agent sees them (a loaded host drops none); default: the suite's own pacing. */
  closedLoop?: boolean;
}

/** The POST /api/v1/runs body for a filled form (api.md "Runs API shapes"). */
export function runRequest(form: RunForm): ApiRunRequest {
  let targets: ApiRunRequest['targets'];
  if (form.target.kind === 'lab') targets = { lab: form.target.count > 1 ? { count: form.target.count } : {} };
  else {
    const { selector, host, token } = form.target;
    const where = host === '' ? selector : `${selector}@${host}`;
    const single = !/[*?[\],]/.test(selector) && !selector.startsWith('re:');
    targets = { ...(single ? { vm: where } : { vms: where }), ...(token === '' ? {} : { token }) };
  }
  return {
    suites: form.suites,
    targets,
    ...(form.concurrency === undefined ? {} : { concurrency: form.concurrency }),
    ...(form.rounds === undefined ? {} : { rounds: form.rounds }),
    onFailure: form.onFailure,
    ...(form.closedLoop === true ? { pacing: { closedLoop: true } } : {}),
  };
}

/** A suite as POST /runs takes it: its path relative to the suite folder that holds it. */
export function suitePath(file: string, dirs: readonly string[]): string {
  for (const dir of dirs) {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    if (file.startsWith(prefix)) return file.slice(prefix.length);
  }
  return file;
}

const numberOrUndefined = (input: HTMLInputElement): number | undefined => (input.value.trim() === '' ? undefined : Number(input.value));

export function startRunView(app: App, preset: string | undefined): View {
  const controller = new AbortController();
  const suitesBox = h('div', { class: 'checks', role: 'group', 'aria-labelledby': 'suites-legend' }, h('p', { class: 'muted' }, 'Loading suites…'));
  const [presetVm, presetHost = ''] = preset === undefined || preset === 'lab' ? ['', ''] : preset.split('@');
  const labRadio = h('input', { type: 'radio', name: 'target', id: 'target-lab', value: 'lab', checked: presetVm === '' });
  const vmsRadio = h('input', { type: 'radio', name: 'target', id: 'target-vms', value: 'vms', checked: presetVm !== '' });
  const count = h('input', { type: 'number', id: 'lab-count', min: '1', max: '32', value: '1' });
  const hostSelect = h('select', { id: 'vm-host' }, h('option', { value: presetHost }, presetHost === '' ? 'this machine' : presetHost));
  const selector = h('input', { type: 'text', id: 'vm-selector', value: presetVm ?? '', placeholder: 'web-01, web-*, re:^win', autocomplete: 'off', 'aria-describedby': 'selector-help' });
  const agentToken = h('input', { type: 'password', id: 'agent-token', autocomplete: 'off', 'aria-describedby': 'token-help' });
  const concurrency = h('input', { type: 'number', id: 'concurrency', min: '1', max: '256', placeholder: 'default: all, at most 4' });
  const rounds = h('input', { type: 'number', id: 'rounds', min: '1', max: '100000', value: '1' });
  const onFailure = h('select', { id: 'on-failure' }, RUN_FAILURE_POLICIES.map((p) => h('option', { value: p }, p)));
  const pacing = h(
    'select',
    { id: 'pacing', 'aria-describedby': 'pacing-help' },
    h('option', { value: 'suite' }, 'as the suite says'),
    h('option', { value: 'closed' }, 'closed loop'),
  );
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start run');

  const syncTarget = (): void => {
    for (const el of [hostSelect, selector, agentToken]) el.disabled = !vmsRadio.checked;
    count.disabled = !labRadio.checked;
  };
  labRadio.addEventListener('change', syncTarget);
  vmsRadio.addEventListener('change', syncTarget);
  syncTarget();

  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'view-title', novalidate: true },
    h('fieldset', {}, h('legend', { id: 'suites-legend' }, 'Suites'), suitesBox),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Target'),
      h('div', { class: 'radio' }, labRadio, h('label', { for: 'target-lab' }, 'Lab VMs (booted for the run)')),
      h('div', { class: 'field indent' }, h('label', { for: 'lab-count' }, 'How many'), count),
      h('div', { class: 'radio' }, vmsRadio, h('label', { for: 'target-vms' }, 'VMs of a host')),
      h('div', { class: 'field indent' }, h('label', { for: 'vm-host' }, 'Host'), hostSelect),
      h('div', { class: 'field indent' }, h('label', { for: 'vm-selector' }, 'VMs'), selector, h('span', { id: 'selector-help', class: 'muted small' }, 'A name, a glob (*, ?, [abc]), re:REGEX or a comma list.')),
      h('div', { class: 'field indent' }, h('label', { for: 'agent-token' }, 'Agent token'), agentToken, h('span', { id: 'token-help', class: 'muted small' }, 'The token the VMs’ agents present to the hub (not the API token).')),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Options'),
      h('div', { class: 'field' }, h('label', { for: 'concurrency' }, 'Concurrency (VMs at once)'), concurrency),
      h('div', { class: 'field' }, h('label', { for: 'rounds' }, 'Rounds (loops)'), rounds),
      h('div', { class: 'field' }, h('label', { for: 'on-failure' }, 'On failure'), onFailure),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'pacing' }, 'Pacing'),
        pacing,
        h('span', { id: 'pacing-help', class: 'muted small' }, 'Closed loop sends keys as fast as the agent sees them: nothing is lost on a busy host.'),
      ),
    ),
    error,
    h('div', { class: 'actions' }, submit),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const suites = [...suitesBox.querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((c) => c.value);
    const problem =
      suites.length === 0
        ? 'Pick at least one suite.'
        : vmsRadio.checked && selector.value.trim() === ''
          ? 'Name the VMs to run on.'
          : vmsRadio.checked && agentToken.value === ''
            ? 'Give the token the VMs’ agents present.'
            : undefined;
    if (problem !== undefined) {
      error.textContent = problem;
      error.hidden = false;
      return;
    }
    const body = runRequest({
      suites,
      target: labRadio.checked ? { kind: 'lab', count: Number(count.value) || 1 } : { kind: 'vms', selector: selector.value.trim(), host: hostSelect.value, token: agentToken.value },
      concurrency: numberOrUndefined(concurrency),
      rounds: numberOrUndefined(rounds),
      onFailure: RUN_FAILURE_POLICIES.find((p) => p === onFailure.value) ?? 'continue',
      closedLoop: pacing.value === 'closed',
    });
    submit.disabled = true;
    error.hidden = true;
    postJson('/runs', body)
      .then((reply) => {
        const { id } = parseWith(ApiRunCreatedSchema, reply, { source: 'POST /api/v1/runs', what: 'reply' });
        app.announce(`Run ${id} started.`, 'info');
        app.navigate({ view: 'run', id });
      })
      .catch((failure: unknown) => {
        submit.disabled = false;
        error.textContent = `The server refused the run: ${describeError(failure)}`;
        error.hidden = false;
      });
  });

  void getParsed('/suites', ApiSuiteListSchema, controller.signal).then(
    ({ dirs, suites }) => {
      fill(
        suitesBox,
        suites.length === 0
          ? h('p', { class: 'muted' }, `No suites in ${dirs.join(', ')}.`)
          : suites.map((suite, i) => {
              const id = `suite-${i}`;
              const path = suitePath(suite.file, dirs);
              // A version 2 suite (platform steps) runs through `atp-host verify` only.
              const runnable = suite.ok && suite.version === 1;
              const about = !suite.ok
                ? `cannot run: ${suite.error.message}`
                : `${suite.steps} steps, ${suite.keys} key transitions, ${suite.pointerActions} pointer actions · observer ${suite.observer}${runnable ? '' : ' · a platform suite: run it with atp-host verify'}`;
              return h(
                'div',
                { class: 'check' },
                h('input', { type: 'checkbox', id, value: path, disabled: !runnable, 'aria-describedby': `${id}-d` }),
                h('label', { for: id }, suite.ok ? suite.name : path, ' ', h('span', { class: 'muted small' }, path)),
                h('span', { id: `${id}-d`, class: suite.ok ? 'muted small block' : 'error small block' }, about),
              );
            }),
      );
    },
    (failure: unknown) => {
      if (!controller.signal.aborted) fill(suitesBox, h('p', { class: 'error' }, `Cannot list the suites: ${describeError(failure)}`));
    },
  );
  void getParsed('/hosts', ApiHostListSchema, controller.signal).then(
    ({ hosts }) => {
      const current = hostSelect.value;
      fill(hostSelect, hosts.map((host) => h('option', { value: host.source === 'default' ? '' : host.name }, host.source === 'default' ? `${host.name} (this machine)` : host.name)));
      hostSelect.value = hosts.some((host) => host.name === current) ? current : '';
    },
    () => undefined,
  );

  const root = h('section', { class: 'view' }, h('h1', { id: 'view-title', tabindex: '-1' }, 'Start a run'), form);
  return { title: 'Start a run', root, dispose: () => controller.abort() };
}
