/** The `--config-dir` flag every command that reads the config files shares, and the location it names. */
import type { Command } from 'commander';
import type { ConfigLocation } from '../config/paths.js';

export const locationOf = (flags: { configDir?: string }): ConfigLocation => (flags.configDir ? { configDir: flags.configDir } : {});

export const withConfigDir = (cmd: Command): Command => cmd.option('--config-dir <dir>', 'config directory (env ATP_CONFIG_DIR; default $XDG_CONFIG_HOME/atp or ~/.config/atp)');
