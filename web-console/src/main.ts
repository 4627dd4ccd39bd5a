/**
 * The console's shell: hash routing between the views, the nav (the current
 * entry marked with aria-current), focus moved to each new view's heading so
 * keyboard and screen-reader users land on it, the live-stream pill, the
 * announcement line, sign-out. A 401 from any request shows the sign-in view
 * and returns to where the user was once signed in.
 */
import './zod-config.js';
import { ApiFailure, getJson, setUnauthorizedHandler, signOut, describeError } from './api.js';
import type { StreamState } from './events.js';
import { DEFAULT_ROUTE, navOf, parseRoute, routeHash, type Route } from './router.js';
import type { App, View } from './view.js';
import { hostsView } from './views/hosts.js';
import { monitorView } from './views/monitor.js';
import { runView } from './views/run.js';
import { runsView } from './views/runs.js';
import { signinView } from './views/signin.js';
import { startRunView } from './views/start-run.js';

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`index.html lacks #${id}`);
  return el as T;
};

function boot(): void {
  const main = byId<HTMLElement>('main');
  const nav = byId<HTMLElement>('nav');
  const live = byId<HTMLElement>('live');
  const toast = byId<HTMLElement>('toast');
  const signOutButton = byId<HTMLButtonElement>('sign-out');
  let current: View | undefined;
  let signedIn = false;
  let toastTimer: ReturnType<typeof setTimeout> | undefined;

  const show = (view: View, route: Route | undefined): void => {
    current?.dispose();
    current = view;
    main.replaceChildren(view.root);
    document.title = `${view.title} · ATP console`;
    const active = route === undefined ? '' : navOf(route);
    for (const link of nav.querySelectorAll<HTMLAnchorElement>('a[data-view]')) {
      if (link.dataset.view === active) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    view.root.querySelector<HTMLElement>('h1')?.focus({ preventScroll: false });
  };

  const app: App = {
    navigate: (route) => {
      const hash = routeHash(route);
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    announce: (message, kind = 'info') => {
      toast.textContent = message;
      toast.dataset.kind = kind;
      toast.hidden = false;
      clearTimeout(toastTimer);
      toastTimer = setTimeout(() => (toast.hidden = true), kind === 'error' ? 12_000 : 5_000);
    },
    setLive: (state: StreamState, detail: string) => {
      live.dataset.state = state;
      live.textContent = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : state === 'retrying' ? 'Reconnecting…' : 'Offline';
      live.title = detail;
    },
    signedIn: () => {
      signedIn = true;
      nav.hidden = false;
      signOutButton.hidden = false;
      render();
    },
  };

  const showSignin = (): void => {
    signedIn = false;
    nav.hidden = true;
    signOutButton.hidden = true;
    app.setLive('closed', 'signed out');
    show(signinView(app), undefined);
  };

  const render = (): void => {
    if (!signedIn) return showSignin();
    const route = parseRoute(location.hash);
    switch (route.view) {
      case 'signin':
      case 'hosts':
        return show(hostsView(app), DEFAULT_ROUTE);
      case 'start':
        return show(startRunView(app, route.vm), route);
      case 'runs':
        return show(runsView(app), route);
      case 'run':
        return show(runView(app, route.id), route);
      case 'monitor':
        return show(monitorView(app), route);
    }
  };

  setUnauthorizedHandler(() => {
    if (signedIn) {
      app.announce('Your session has ended: sign in again.', 'error');
      showSignin();
    }
  });
  signOutButton.addEventListener('click', () => {
    signOut()
      .catch(() => undefined)
      .finally(() => {
        showSignin();
        app.announce('Signed out.', 'info');
      });
  });
  window.addEventListener('hashchange', render);

  // Is the session cookie (HttpOnly, so unreadable here) still good? Ask a cheap route.
  getJson('/agents').then(
    () => app.signedIn(),
    (error: unknown) => {
      if (error instanceof ApiFailure && error.status === 401) showSignin();
      else if (error instanceof ApiFailure && error.status !== 0) app.signedIn();
      else {
        showSignin();
        app.announce(`The server does not answer: ${describeError(error)}`, 'error');
      }
    },
  );
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
