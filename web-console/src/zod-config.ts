/**
 * Imported first by main.ts, so it runs before any schema is used (some
 * protocol modules parse at load time): zod compiles object parsers with
 * `new Function` unless told not to, and the console's CSP forbids eval, so
 * even zod's probe for it would log a CSP violation.
 */
import { z } from 'zod';

z.config({ jitless: true });
