/**
 * Where ATP's config files live: `--config-dir` (tests), else $ATP_CONFIG_DIR,
 * else $XDG_CONFIG_HOME/atp, else ~/.config/atp (XDG Base Directory spec).
 * `~/` in paths from a config file means the user's home; other relative
 * paths are relative to the config file's directory.
 */
import os from 'node:os';
import path from 'node:path';

export interface ConfigLocation {
  /** An explicit directory (the CLI's --config-dir). */
  configDir?: string;
  /** The environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function home(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME !== undefined && env.HOME !== '' ? env.HOME : os.homedir();
}

export function configDir(location: ConfigLocation = {}): string {
  const env = location.env ?? process.env;
  if (location.configDir !== undefined && location.configDir !== '') return path.resolve(location.configDir);
  if (env.ATP_CONFIG_DIR !== undefined && env.ATP_CONFIG_DIR !== '') return path.resolve(env.ATP_CONFIG_DIR);
  const xdg = env.XDG_CONFIG_HOME;
  // The spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home(env), '.config');
  return path.join(base, 'atp');
}

export function hostsFilePath(location: ConfigLocation = {}): string {
  return path.join(configDir(location), 'hosts.yaml');
}

/** Expands `~` / `~/…` to the home directory; resolves a relative path against `baseDir`. */
export function expandPath(p: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (p === '~') return home(env);
  if (p.startsWith('~/')) return path.join(home(env), p.slice(2));
  return path.resolve(baseDir, p);
}
