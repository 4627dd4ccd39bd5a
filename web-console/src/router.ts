/**
 * Hash routes of the console (#/hosts, #/runs/ID ...). Pure parsing, so the
 * rules are tested without a browser; main.ts listens to hashchange. The
 * hash never carries a secret: the token goes only into the sign-in request.
 */

export type Route =
  | { view: 'signin' }
  | { view: 'hosts' }
  | { view: 'start'; vm?: string }
  | { view: 'runs' }
  | { view: 'run'; id: string }
  | { view: 'monitor' };

export const DEFAULT_ROUTE: Route = { view: 'hosts' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const params = new URLSearchParams(query);
  switch (parts[0]) {
    case 'signin':
      return { view: 'signin' };
    case 'hosts':
      return { view: 'hosts' };
    case 'start': {
      const vm = params.get('vm');
      return vm === null || vm === '' ? { view: 'start' } : { view: 'start', vm };
    }
    case 'runs':
      return parts[1] === undefined ? { view: 'runs' } : { view: 'run', id: parts[1] };
    case 'monitor':
      return { view: 'monitor' };
    default:
      return DEFAULT_ROUTE;
  }
}

export function routeHash(route: Route): string {
  switch (route.view) {
    case 'run':
      return `#/runs/${encodeURIComponent(route.id)}`;
    case 'start':
      return route.vm === undefined ? '#/start' : `#/start?vm=${encodeURIComponent(route.vm)}`;
    default:
      return `#/${route.view}`;
  }
}

/** The nav entry a route belongs to (a run page is under Runs). */
export function navOf(route: Route): string {
  return route.view === 'run' ? 'runs' : route.view;
}
