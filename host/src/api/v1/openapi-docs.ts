/**
 * The interactive API page at /docs: Swagger UI (the swagger-ui-dist npm
 * package, a maintained build of the renderer) served from this server's own
 * files, never a CDN, showing GET /api/v1/openapi.json. "Try it out" sends
 * requests from the page's origin, so the session cookie set by
 * POST /api/v1/session (which the page itself can call) authenticates them;
 * "Authorize" takes the bearer token instead, kept in memory only.
 *
 * Why Swagger UI: it is a static bundle (one script, one stylesheet) that
 * runs with no build step and no network beyond its own origin, renders
 * OpenAPI 3.1, and is the most widely kept renderer on npm. The page allows
 * only this origin (a Content-Security-Policy meta tag: the route layer sets
 * no headers outside /api) and loads its one script of configuration from a
 * file, so no inline script is needed.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { OPENAPI_PATH } from './openapi.js';

export const DOCS_PATH = '/docs';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'";

/** The configuration script (served as /docs/init.js). */
export const DOCS_INIT_JS = `// ATP: Swagger UI for this server's OpenAPI document.
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_PATH)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
    withCredentials: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
    displayRequestDuration: true,
    docExpansion: 'list',
  });
});
`;

export const DOCS_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>ATP API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
<style>body { margin: 0; } .swagger-ui .topbar { display: none; }</style>
</head>
<body>
<div id="swagger-ui"><p style="font-family: sans-serif; padding: 1em">Loading the API reference of ${OPENAPI_PATH} …</p></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

/** The files of swagger-ui-dist the page uses, with their content types. */
const DIST_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

export interface DocsAsset {
  contentType: string;
  body: string;
}

const cache = new Map<string, Promise<string>>();

function distDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve('swagger-ui-dist/package.json'));
  } catch (cause) {
    throw new AtpError('ATP_API_NOT_FOUND', 'the API page needs the swagger-ui-dist package: run npm install', { cause, details: { package: 'swagger-ui-dist' } });
  }
}

/** One file of the page by name (init.js or a swagger-ui-dist file); ATP_API_NOT_FOUND for any other name. */
export async function docsAsset(name: string): Promise<DocsAsset> {
  if (name === 'init.js') return { contentType: 'text/javascript; charset=utf-8', body: DOCS_INIT_JS };
  const contentType = Object.hasOwn(DIST_FILES, name) ? DIST_FILES[name] : undefined;
  if (contentType === undefined) throw new AtpError('ATP_API_NOT_FOUND', `no file ${DOCS_PATH}/${name}`, { details: { file: name } });
  let text = cache.get(name);
  if (text === undefined) {
    text = readFile(path.join(distDir(), name), 'utf8');
    cache.set(name, text);
    text.catch(() => cache.delete(name));
  }
  return { contentType, body: await text };
}
