/**
 * /api/v1/platforms: the OCloudView VDI platforms of platforms.yaml, and per
 * platform its desk pools and VMs as the platform reports them, through the
 * server's VDI client (targets/platform.ts platformClient). The platform's
 * password comes from its configured source (a 0600 file or an environment
 * variable of the server; never a prompt here) and is read on the first
 * login; a response names the source, never the password. Each request
 * logs in and out again (a platform session is not kept between requests).
 * The request's abort signal is not passed to the client yet (see input.ts:
 * plugin.ts aborts it once the request has been read).
 */
import { ApiPlatformListSchema, ApiPlatformParamsSchema, ApiPlatformVmListSchema, ApiPlatformVmsQuerySchema, ApiPoolListSchema } from '@atp/protocol';
import { effectivePlatform, loadPlatforms, type EffectivePlatform } from '../../../config/platforms-file.js';
import { platformClient } from '../../../targets/platform.js';
import { findPool, type OCloudClient } from '../../../vdi/index.js';
import { domainStatusName } from '../../../vdi/status-names.js';
import type { ApiContext } from '../context.js';
import { defineRoute, type ApiRoute } from '../route.js';

const TAG = 'platforms';

const passwordSource = (p: EffectivePlatform): string => (p.password.kind === 'file' ? `file ${p.password.file}` : `env ${p.password.name}`);

/** Runs `work` with a logged-in-on-demand client for the platform; logs out afterwards (a failed logout is not the request's failure). */
async function withPlatform<T>(name: string, context: ApiContext, work: (client: OCloudClient, platform: EffectivePlatform) => Promise<T>): Promise<T> {
  const platform = effectivePlatform(await loadPlatforms(context.location), name);
  const client = platformClient(platform, { prompt: false });
  try {
    return await work(client, platform);
  } finally {
    await client.logout().catch(() => undefined);
  }
}

export function platformRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/platforms',
      summary: 'The VDI platforms of platforms.yaml (where each password comes from, never the password)',
      tag: TAG,
      response: ApiPlatformListSchema,
      handler: async (_request, context) => {
        const loaded = await loadPlatforms(context.location);
        const platforms = Object.keys(loaded.platforms).map((name) => {
          const p = effectivePlatform(loaded, name);
          return { name: p.name, url: p.url, username: p.username, passwordSource: passwordSource(p), ...(p.timeoutMs === undefined ? {} : { timeoutMs: p.timeoutMs }), hosts: p.hosts };
        });
        return { file: loaded.file, platforms };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/platforms/:name/pools',
      summary: "A platform's desk pools, as the platform reports them",
      tag: TAG,
      params: ApiPlatformParamsSchema,
      response: ApiPoolListSchema,
      handler: async ({ params }, context) => withPlatform(params.name, context, async (client, platform) => ({ platform: platform.name, pools: await client.pools() })),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/platforms/:name/vms',
      summary: "A platform's VMs (of one desk pool with ?pool=), with their status spelled out",
      tag: TAG,
      params: ApiPlatformParamsSchema,
      query: ApiPlatformVmsQuerySchema,
      response: ApiPlatformVmListSchema,
      handler: async ({ params, query }, context) =>
        withPlatform(params.name, context, async (client, platform) => {
          const pools = await client.pools();
          const vms = query.pool === undefined ? await client.domains() : await client.poolDomains(findPool(pools, query.pool).id);
          const rows = vms.map((v) => {
            const poolId = v.desktopPoolId ?? v.poolId;
            const poolName = v.poolName ?? pools.find((p) => p.id === poolId)?.name;
            return { ...v, statusText: domainStatusName(v.status), ...(poolName === undefined ? {} : { poolName }) };
          });
          return { platform: platform.name, ...(query.pool === undefined ? {} : { pool: query.pool }), vms: rows };
        }),
    }),
  ];
}
