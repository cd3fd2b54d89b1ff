import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveTemporalCli } from './temporal-cli.js';
import { checkStopping, onStop } from './lifecycle.js';
import { PROJECT_ROOT } from '../core/paths.js';

// Read from the sources also when running compiled: plain JavaScript, not built.
const SUPERVISOR = join(PROJECT_ROOT, 'runtime', 'supervise.mjs');

export interface DevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export async function freePort(preferred = 0): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | null>((res) => {
      const srv = createServer();
      srv.once('error', () => res(null));
      srv.listen(port, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
  return (preferred && (await tryPort(preferred))) || (await tryPort(0))!;
}

/** Resolves when 127.0.0.1:port accepts a connection, rejects when it refuses. */
function portOpen(port: number): Promise<void> {
  return new Promise((res, rej) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      res();
    });
    socket.once('error', rej);
  });
}

/**
 * Starts `temporal server start-dev` with its SQLite file in the data directory, and
 * waits until it answers. The server outlives nothing: it is stopped with runsync.
 */
export async function startDevServer(opts: { dataDir: string; port?: number; ui?: boolean; namespace?: string; extraNamespaces?: string[]; log?: (m: string) => void }): Promise<DevServer> {
  const cli = resolveTemporalCli({ log: opts.log });
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  if (!cli) return startSdkDevServer({ ...opts, dataDir: dir });
  const port = await freePort(opts.port ?? 0);
  const uiPort = opts.ui ? await freePort(port + 1000) : 0;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', join(dir, 'temporal.sqlite'), '--log-level', 'warn', ...namespaceArgs(opts)];
  if (opts.ui) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  const logFd = openSync(join(dir, 'temporal.log'), 'a');
  // Through the supervisor: it stops the server when this process's end of its stdin pipe
  // closes, which the kernel does when runsync exits in any way (SIGKILL included). Its own
  // process group, so a Ctrl-C at the terminal reaches runsync only, which stops it in order.
  const child: ChildProcess = spawn(process.execPath, [SUPERVISOR, cli, ...args], { stdio: ['pipe', logFd, logFd], detached: true });
  closeSync(logFd);
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  const unregister = onStop(
    'embedded Temporal dev server',
    () => stop(),
    () => {
      if (exited === null) child.kill('SIGTERM');
    },
  );
  let exited: number | null = null;
  const gone = new Promise<void>((r) => child.once('exit', (code) => ((exited = code ?? -1), r())));
  // At once, not gracefully: runsync stops the server last, after its worker and connections
  // have closed, and a graceful stop then only idles (about a second, waiting in the server's
  // drain on its own internal pollers). Its store, SQLite, keeps what was committed through a
  // kill; tasks it had not processed yet are processed at its next start. The supervisor leads
  // the server's process group: one SIGKILL to the group ends both, whatever either is doing.
  async function stop(): Promise<void> {
    if (exited !== null) return;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL'); // the group is gone already
    }
    await Promise.race([gone, sleep(6_000)]);
    if (exited === null) child.kill('SIGKILL');
  }
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    checkStopping();
    if (exited !== null) throw new Error(`the Temporal dev server exited with code ${exited}; see ${join(dir, 'temporal.log')}`);
    try {
      // A gRPC connection tried before the port is open backs off for a second: knock first.
      await portOpen(port);
      const { Connection } = await import('@temporalio/client');
      const conn = await Connection.connect({ address, connectTimeout: 1_000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        unregister();
        throw new Error(`the Temporal dev server did not answer on ${address} within 60 s; see ${join(dir, 'temporal.log')}`);
      }
      await sleep(50);
    }
  }
  return {
    address,
    uiUrl: opts.ui ? `http://127.0.0.1:${uiPort}` : null,
    stop: async () => {
      unregister();
      await stop();
    },
  };
}

/** The namespaces the server registers at start: runsync's, and any others asked for. */
const namespaceArgs = (opts: { namespace?: string; extraNamespaces?: string[] }): string[] =>
  [opts.namespace ?? 'default', ...(opts.extraNamespaces ?? [])].flatMap((n) => ['--namespace', n]);

/**
 * Last resort when no CLI can be found or installed: the Temporal SDK downloads the
 * official CLI into its cache and runs the same dev server.
 */
async function startSdkDevServer(opts: { dataDir: string; port?: number; ui?: boolean; namespace?: string; extraNamespaces?: string[]; log?: (m: string) => void }): Promise<DevServer> {
  opts.log?.('no Temporal CLI on this machine: letting the Temporal SDK download it');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const port = await freePort(opts.port ?? 0);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port,
      dbFilename: join(opts.dataDir, 'temporal.sqlite'),
      namespace: opts.namespace ?? 'default',
      ui: !!opts.ui,
      extraArgs: ['--log-level', 'warn', ...(opts.extraNamespaces ?? []).flatMap((n) => ['--namespace', n])],
    },
  });
  const unregister = onStop('embedded Temporal dev server (SDK)', () => env.teardown());
  return {
    address: env.address,
    uiUrl: opts.ui ? `http://127.0.0.1:${port + 1000}` : null,
    stop: async () => {
      unregister();
      await env.teardown();
    },
  };
}
