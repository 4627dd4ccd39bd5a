/**
 * /api/v1/command/exec: runs a program in a libvirt domain's guest through
 * the QEMU guest agent (targets/guest-exec.ts, as `atp-host command exec`),
 * the program and its arguments as an argument vector (no shell anywhere).
 * A program that exits non-zero is still a 200: its exit code is the result.
 * A guest without a responding agent, or a program still running at the
 * deadline, is the guest agent's typed error (ATP_LIBVIRT_AGENT_UNAVAILABLE,
 * ATP_QGA_EXEC_DEADLINE, ...), answered 502.
 */
import { ApiExecBodySchema, ApiExecResultSchema } from '@atp/protocol';
import { QGA_DEFAULT_EXEC_DEADLINE_MS } from '../../../vm/qga/index.js';
import { execInDomain } from '../../../targets/guest-exec.js';
import { defineRoute, type ApiRoute } from '../route.js';

export function execRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/command/exec',
      summary: 'Run a program in the guest (QEMU guest agent) and return its exit code and output',
      tag: 'exec',
      body: ApiExecBodySchema,
      response: ApiExecResultSchema,
      handler: async ({ body }, context) => {
        const result = await execInDomain(body.vm, context.location, body.command, body.args, { deadlineMs: body.timeoutMs ?? QGA_DEFAULT_EXEC_DEADLINE_MS });
        return { vm: body.vm, ...result };
      },
    }),
  ];
}
