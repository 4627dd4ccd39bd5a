/** POST /ocloud/v1/login (LoginDto → LoginVO with the token) and POST /ocloud/v1/logout. */
import type { FastifyInstance } from 'fastify';
import { loginBody } from '../bodies.js';
import type { SimContext } from '../context.js';
import { ok, SIM_STATUS, SimFailure } from '../envelope.js';
import { parseInput } from '../input.js';

export const LOGIN_PATH = '/ocloud/v1/login';

export function registerSessionRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.post(LOGIN_PATH, (request) => {
    const body = parseInput(loginBody, request.body, 'body');
    const token = ctx.tokens.login(body.username, body.password);
    if (token === undefined) throw new SimFailure(SIM_STATUS.loginFailed, 'wrong username or password (password: the lowercase hex MD5 of the plain password)');
    return ok({ token, username: body.username });
  });

  app.post('/ocloud/v1/logout', (request) => {
    const token = request.headers.token;
    if (typeof token === 'string') ctx.tokens.logout(token);
    return ok();
  });
}
