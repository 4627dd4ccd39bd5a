/** Structured logs: one JSON object per line on stderr ({ time, level, msg, ...fields }). */
import type { LogLevel } from '../config-schema.js';
import type { SessionLogger } from '../link/index.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLogger extends SessionLogger {
  level: LogLevel;
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  return value;
}

export function createJsonLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => void process.stderr.write(line)): JsonLogger {
  const logger: JsonLogger = {
    level,
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
  function emit(at: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (RANK[at] < RANK[logger.level]) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: at, msg };
    for (const [key, value] of Object.entries(fields)) if (!(key in entry)) entry[key] = plain(value);
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      line = JSON.stringify({ time: entry['time'], level: at, msg, note: 'fields not serialisable' });
    }
    write(`${line}\n`);
  }
  return logger;
}
