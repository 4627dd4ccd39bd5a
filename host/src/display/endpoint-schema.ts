/**
 * A zod schema for DisplayEndpoint (endpoint.ts), for endpoints read back from
 * JSON such as the lab state file. The type check below keeps it in step with
 * the hand-written interface.
 */
import { z } from 'zod';
import type { DisplayEndpoint } from './endpoint.js';

export const displayAddressSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tcp'), host: z.string().min(1), port: z.number().int().min(1).max(65535) }),
  z.object({ kind: z.literal('unix'), path: z.string().min(1) }),
]);

export const displayEndpointSchema = z.object({
  protocol: z.enum(['spice', 'vnc']),
  address: displayAddressSchema,
  tls: z.object({ ca: z.string().min(1), servername: z.string().min(1).optional() }).optional(),
  password: z.string().min(1).optional(),
});

// Both directions must hold: the schema parses exactly what the interface allows.
const toInterface = (e: z.infer<typeof displayEndpointSchema>): DisplayEndpoint => e;
const fromInterface = (e: DisplayEndpoint): z.infer<typeof displayEndpointSchema> => e;
void toInterface;
void fromInterface;
