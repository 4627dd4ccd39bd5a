#!/usr/bin/env node
/** The `atp-agent` binary. */
import { runCli } from './cli/program.js';

const code = await runCli(process.argv);
// Exit explicitly: open device streams, timers and links would keep the process alive.
// (stdout and stderr are synchronous for files and pipes on Linux, so nothing written is lost.)
process.exit(code);
