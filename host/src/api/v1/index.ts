/** The HTTP API, /api/v1: routes described once (route.ts), auth, errors, the live event log. */
export * from './auth.js';
export * from './context.js';
export * from './event-log.js';
export * from './http-errors.js';
export * from './plugin.js';
export * from './route.js';
export { allRoutes } from './routes/index.js';
export { OPENAPI_PUBLIC_ROUTES } from './openapi.js';
export { startEventProducers } from './events/index.js';
