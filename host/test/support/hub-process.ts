/**
 * Starts hub-child.ts in a child process through tsx, resolving @atp/protocol to
 * its sources (as vitest does), and kills it with SIGKILL on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface HubProcess {
  tcp: number;
  ws: number;
  pid: number;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

/** `scratch` is a temp dir for the child's tsconfig. */
export async function startHubProcess(scratch: string, journal: string, token: string, ports: { tcp: number; ws: number } = { tcp: 0, ws: 0 }): Promise<HubProcess> {
  const tsconfig = path.join(scratch, 'tsconfig.hub-child.json');
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: path.join(root, 'tsconfig.base.json'),
      compilerOptions: { baseUrl: root, paths: { '@atp/protocol': ['protocol-schemas/src/index.ts'] } },
    }),
  );
  // tsx as a loader in this one process (its CLI would fork a grandchild that SIGKILL misses).
  const loader = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child: ChildProcess = spawn(process.execPath, ['--import', loader, path.join(root, 'host/test/support/hub-child.ts'), journal, String(ports.tcp), String(ports.ws), token], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onExit);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hub child did not start within 30 s: ${stderr}`)), 30_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`hub child exited: ${stderr}`));
    });
  });
  const ports2 = JSON.parse(line) as { tcp: number; ws: number };
  return {
    ...ports2,
    pid: child.pid ?? -1,
    async kill() {
      process.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
