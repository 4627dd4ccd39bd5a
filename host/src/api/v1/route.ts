/**
 * One API route, described once: method, path, the zod schemas of its params,
 * query, body and response, and its handler. plugin.ts registers it on Fastify
 * (validating the input with the schemas: a bad body is a 400 naming the
 * field) and openapi.ts documents it from the same description, so the
 * document cannot drift from what the server does.
 */
import type { z } from 'zod';
import type { ApiContext } from './context.js';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ApiRequest<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** A reply with another status than 200, or another content type (reports as JUnit/HTML). */
export interface ApiRaw {
  raw: true;
  status?: number;
  contentType: string;
  body: string;
}

export interface ApiRoute<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  method: ApiMethod;
  /** Fastify syntax: /api/v1/runs/:id */
  path: string;
  /** One line for the OpenAPI document. */
  summary: string;
  /** The area (hosts, vms, input, runs, ...): the OpenAPI tag. */
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The 2xx JSON body; absent for a raw reply (give `produces`). */
  response?: R;
  /** Content types of a raw reply (OpenAPI), e.g. ['application/xml']. */
  produces?: readonly string[];
  /** Status of a successful JSON reply (default 200; 201 for a created run, 202 accepted). */
  status?: number;
  handler(request: ApiRequest<z.output<P>, z.output<Q>, z.output<B>>, context: ApiContext): Promise<z.input<R> | ApiRaw>;
}

/** Keeps the handler's types tied to the route's schemas. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(route: ApiRoute<P, Q, B, R>): ApiRoute {
  return route as unknown as ApiRoute;
}

export const isRaw = (value: unknown): value is ApiRaw => typeof value === 'object' && value !== null && (value as { raw?: unknown }).raw === true;
