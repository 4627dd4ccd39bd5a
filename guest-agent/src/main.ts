#!/usr/bin/env node
/** The `atp-agent` binary. */
import { configureThreadpool } from './capture/index.js';
import { runCli } from './cli/program.js';

// Before anything touches libuv's pool: evdev reads and virtio polling each use a pool thread.
configureThreadpool();
const code = await runCli(process.argv);
// Exit explicitly: evdev readers sit in blocking reads on pool threads that would keep the process alive.
// (stdout and stderr are synchronous for files and pipes on Linux, so nothing written is lost.)
process.exit(code);
