/**
 * Sign in: the API token goes once into POST /api/v1/session, which answers
 * with an HttpOnly session cookie. The field is cleared right after, and the
 * token is never kept in a variable, storage or the URL.
 */
import { describeError, signIn } from '../api.js';
import { h } from '../dom.js';
import type { App, View } from '../view.js';

export function signinView(app: App): View {
  const error = h('p', { id: 'signin-error', class: 'error', role: 'alert', hidden: true });
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help signin-error',
  });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'view-title' },
    h('label', { for: 'token' }, 'API token'),
    input,
    h('p', { id: 'token-help', class: 'muted' }, 'The token of this server (`atp-host serve` prints where it is kept: $ATP_API_TOKEN or CONFIG_DIR/api-token). It is sent once; the server answers with a session cookie.'),
    error,
    h('div', { class: 'actions' }, button),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value;
    input.value = '';
    if (token === '') return;
    button.disabled = true;
    error.hidden = true;
    signIn(token).then(
      () => app.signedIn(),
      (failure: unknown) => {
        button.disabled = false;
        error.textContent = `Sign-in refused: ${describeError(failure)}`;
        error.hidden = false;
        input.focus();
      },
    );
  });
  const root = h('section', { class: 'view' }, h('h1', { id: 'view-title', tabindex: '-1' }, 'Sign in'), form);
  return { title: 'Sign in', root, dispose: () => undefined };
}
