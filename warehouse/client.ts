import { closeSync, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { ClickHouseLog } from '../core/log.js';

export interface WarehouseOptions {
  /** runsync's data directory; chDB keeps its files in `<dataDir>/clickhouse`. */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}

export interface Warehouse {
  client: ClickHouseClient;
  kind: 'chdb' | 'http';
  /** Where it points, without credentials (for logs and `status`). */
  describe: string;
  /** The environment it was opened with (HTTP mode opens the read-only `bi` client from it). */
  env?: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** Which ClickHouse user a client acts as: the writer (runsync's own), or the read-only `bi` user. */
export type WarehouseRole = 'writer' | 'reader';

/**
 * The `@clickhouse/client` options for a ClickHouse server (CLICKHOUSE_URL), or null in embedded
 * mode. The writer's credentials come from CLICKHOUSE_USER/CLICKHOUSE_PASSWORD (or the URL's
 * user info); the reader's from CLICKHOUSE_BI_USER/CLICKHOUSE_BI_PASSWORD, falling back to the
 * writer's. ClickHouse Cloud is `https://…:8443` with user and password; CLICKHOUSE_CA_CERT
 * (a PEM file) is for a server whose certificate a private CA signed.
 */
export function httpClientOptions(env: NodeJS.ProcessEnv, role: WarehouseRole = 'writer', database?: string): ClickHouseClientConfigOptions | null {
  if (!env.CLICKHOUSE_URL) return null;
  let url: URL;
  try {
    url = new URL(env.CLICKHOUSE_URL);
  } catch {
    throw new Error('CLICKHOUSE_URL is not a URL (expected e.g. http://clickhouse:8123 or https://host:8443)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`CLICKHOUSE_URL must be http:// or https://, got ${url.protocol}`);
  const writerUser = env.CLICKHOUSE_USER ?? (decodeURIComponent(url.username) || 'default');
  const writerPassword = env.CLICKHOUSE_PASSWORD ?? decodeURIComponent(url.password);
  const reader = role === 'reader' && env.CLICKHOUSE_BI_USER;
  const options: ClickHouseClientConfigOptions = {
    url: `${url.protocol}//${url.host}`,
    username: reader ? env.CLICKHOUSE_BI_USER : writerUser,
    password: reader ? (env.CLICKHOUSE_BI_PASSWORD ?? '') : writerPassword,
    database: database ?? env.CLICKHOUSE_DATABASE ?? (url.pathname.replace(/^\//, '') || 'default'),
    request_timeout: 120_000,
    application: 'runsync',
    log: { LoggerClass: ClickHouseLog },
    // A readonly user cannot enable response compression (it is a setting); keep both off for it.
    ...(role === 'reader' ? { compression: { response: false, request: false } } : {}),
  };
  if (env.CLICKHOUSE_CA_CERT) {
    if (url.protocol !== 'https:') throw new Error('CLICKHOUSE_CA_CERT is set but CLICKHOUSE_URL is not https://');
    options.tls = { ca_cert: readFileSync(env.CLICKHOUSE_CA_CERT) };
  }
  return options;
}

/**
 * chDB is clickhouse-local inside this process, and clickhouse-local takes standard input, when
 * it is a pipe or a file, as more rows for every INSERT: an open pipe holds each insert until it
 * closes, and whatever it carries is refused with the rows or, with async inserts off, added to
 * them. runsync reads nothing from standard input, so the engine gets /dev/null there: fd 0 is
 * closed and /dev/null, opened next, takes the lowest free descriptor, 0. A terminal is left as
 * it is (clickhouse-local does not read one).
 */
function keepStdinFromEngine(): void {
  let st;
  try {
    st = fstatSync(0);
  } catch {
    return; // no fd 0 at all: nothing to read
  }
  if (!(st.isFIFO() || st.isSocket() || st.isFile())) return;
  closeSync(0);
  const fd = openSync('/dev/null', 'r');
  if (fd !== 0) closeSync(fd); // fd 0 was taken meanwhile by another thread: it is not stdin any more either
}

/**
 * The one place a ClickHouse client is made. Embedded chDB by default; a real server
 * (or ClickHouse Cloud) over HTTP when CLICKHOUSE_URL is set. Everything else in
 * runsync talks to the returned `@clickhouse/client` instance and never knows which.
 */
export async function openWarehouse(opts: WarehouseOptions): Promise<Warehouse> {
  const env = opts.env ?? process.env;
  const http = httpClientOptions(env);
  if (http) {
    const client = createClient(http);
    return { client, kind: 'http', describe: http.url as string, env, close: () => client.close() };
  }
  const path = resolve(join(opts.dataDir, 'clickhouse'));
  mkdirSync(path, { recursive: true });
  keepStdinFromEngine();
  // Imported lazily: the 500 MB engine is only loaded when the embedded warehouse is used.
  const { createChdbConnection } = await import('chdb/connection').catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    // The production image leaves the optional engine out: it talks to a ClickHouse server.
    throw new Error('the embedded ClickHouse (npm package chdb) is not installed here: set CLICKHOUSE_URL to use a ClickHouse server, or `npm install chdb`');
  });
  let client: ClickHouseClient;
  try {
    client = createClient({ connection: createChdbConnection({ path }), log: { LoggerClass: ClickHouseLog } } as Parameters<typeof createClient>[0]);
    await client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json());
  } catch (e) {
    const msg = (e as Error).message;
    if (/lock|already running/i.test(msg)) {
      throw new Error(
        `the embedded ClickHouse in ${path} is held by another runsync process (chDB allows one process per data directory): ` +
          `stop it, use another --data-dir, or query the running service's SQL endpoint`,
      );
    }
    throw e;
  }
  return { client, kind: 'chdb', describe: `chdb:${path}`, env, close: () => client.close() };
}
