/**
 * A hub in its own process, for tests that kill it with SIGKILL (a real crash,
 * nothing flushed). argv: <journal dir> <tcp port> <ws port> <token>. Prints one
 * JSON line {"tcp":N,"ws":N} on stdout once it listens.
 */
import { AgentHub, JournalEventStore } from '../../src/hub/index.js';

const [dir, tcpPort, wsPort, token] = process.argv.slice(2);
if (dir === undefined || token === undefined) throw new Error('usage: hub-child <dir> <tcp port> <ws port> <token>');
const hub = await AgentHub.create({ auth: { tokens: [token] }, store: new JournalEventStore({ dir }), timing: { pingIntervalMs: 1000 } });
const tcp = await hub.listenTcp({ port: Number(tcpPort ?? 0) });
const ws = await hub.listenWs({ port: Number(wsPort ?? 0) });
process.stdout.write(`${JSON.stringify({ tcp: tcp.port, ws: ws.port })}\n`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
