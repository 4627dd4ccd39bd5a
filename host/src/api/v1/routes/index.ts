/**
 * Every API route, by area. Each area's file exports a function returning its
 * routes; add yours to the list (one line) and its schemas to
 * protocol-schemas/src/api/.
 */
import type { ApiRoute } from '../route.js';
import { metricsRoutes } from './metrics.js';
import { runRoutes } from './runs.js';
import { hostRoutes } from './hosts.js';
import { vmRoutes } from './vms.js';
import { inputRoutes } from './input.js';
import { execRoutes } from './exec.js';
import { suiteRoutes } from './suites.js';
import { agentRoutes } from './agents.js';
import { platformRoutes } from './platform.js';
import { openapiRoutes } from './openapi.js';

export function allRoutes(): ApiRoute[] {
  return [
    ...metricsRoutes(),
    ...runRoutes(),
    ...hostRoutes(),
    ...vmRoutes(),
    ...inputRoutes(),
    ...execRoutes(),
    ...suiteRoutes(),
    ...agentRoutes(),
    ...platformRoutes(),
    ...openapiRoutes(allRoutes),
  ];
}
