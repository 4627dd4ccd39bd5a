/**
 * GET /api/v1/openapi.json (public: it holds no secret) and the interactive
 * page at /docs with its files (openapi-docs.ts). The document describes the
 * routes `routes()` returns when first asked (index.ts passes allRoutes, so
 * every area's routes are in it); the docs routes themselves live outside
 * /api/v1 and are not API operations, so the document leaves them out.
 */
import { z } from 'zod';
import { buildOpenApi, OPENAPI_PATH, type OpenApiDocument } from '../openapi.js';
import { DOCS_HTML, DOCS_PATH, docsAsset } from '../openapi-docs.js';
import { defineRoute, type ApiRoute } from '../route.js';

const TAG = 'docs';

export function openapiRoutes(routes: () => readonly ApiRoute[]): ApiRoute[] {
  let document: OpenApiDocument | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: OPENAPI_PATH,
      summary: 'This OpenAPI 3.1 document (public)',
      tag: TAG,
      response: z.record(z.string(), z.unknown()),
      handler: async () => {
        document ??= buildOpenApi(routes());
        return document;
      },
    }),
    defineRoute({
      method: 'GET',
      path: DOCS_PATH,
      summary: 'The interactive API page (Swagger UI)',
      tag: TAG,
      produces: ['text/html'],
      handler: async () => ({ raw: true, contentType: 'text/html; charset=utf-8', body: DOCS_HTML }),
    }),
    defineRoute({
      method: 'GET',
      path: `${DOCS_PATH}/:file`,
      summary: 'A file of the API page',
      tag: TAG,
      params: z.strictObject({ file: z.string().min(1).max(64) }),
      produces: ['text/javascript', 'text/css'],
      handler: async ({ params }) => {
        const asset = await docsAsset(params.file);
        return { raw: true, contentType: asset.contentType, body: asset.body };
      },
    }),
  ];
}
