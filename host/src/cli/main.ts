#!/usr/bin/env node
/** The `atp-host` binary: runs the command line and exits with its code. */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
