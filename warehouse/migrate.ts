import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { PROJECT_ROOT } from '../core/paths.js';

export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'schema', 'migrations');

export interface MigrateOptions {
  dir?: string;
  /**
   * A ClickHouse cluster name (`clickhouse.cluster` in the config): DDL runs `ON CLUSTER`, and
   * MergeTree-family engines become their Replicated form (paths from the server's
   * default_replica_path/default_replica_name). Unset for one server and for ClickHouse Cloud.
   */
  cluster?: string;
  /** How long a migrator that died keeps the lock (seconds). */
  leaseSeconds?: number;
  /** How long to wait for another migrator (ms). */
  waitMs?: number;
  /** Pause between taking a lock ticket and reading who holds the lock (ms); see acquireLock. */
  settleMs?: number;
  /** Called while waiting for another process's migrations. */
  onWait?: (holder: string) => void;
  /**
   * This process alone can reach the database (embedded chDB, whose data directory one
   * process holds): no lock is taken, so tickets left by a killed migrator are no wait.
   */
  exclusive?: boolean;
  /**
   * Stops between statements (a statement in flight is let finish, so the schema and its
   * record stay in step) and releases the lock; the error thrown is the signal's reason.
   */
  signal?: AbortSignal;
}

function checkSignal(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('migrations stopped');
}

/** Splits a migration file into statements: `;` at the end of a line ends one; `--` lines are comments. */
export function splitStatements(sql: string): string[] {
  const lines = sql.split('\n').filter((l) => !/^\s*--/.test(l));
  return lines
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

const quoteCluster = (c: string) => `'${c.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const NAME = '(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)';

/**
 * Rewrites one migration statement for a cluster: `ON CLUSTER` after the object's name, and
 * Replicated engines. Statements are runsync's own migrations (CREATE TABLE/VIEW, ALTER TABLE,
 * DROP …), so the shapes are known; anything else is refused rather than run on one node only.
 */
export function clusterStatement(statement: string, cluster: string): string {
  const on = ` ON CLUSTER ${quoteCluster(cluster)}`;
  const head = new RegExp(
    `^(CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:TABLE|VIEW|MATERIALIZED\\s+VIEW|FUNCTION)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${NAME}|ALTER\\s+TABLE\\s+${NAME}|DROP\\s+(?:TABLE|VIEW)\\s+(?:IF\\s+EXISTS\\s+)?${NAME})`,
    'i',
  );
  const m = head.exec(statement);
  if (!m) throw new Error(`cannot run on cluster ${cluster}: unrecognised migration statement: ${statement.slice(0, 80)}…`);
  const rewritten = m[1] + on + statement.slice(m[1].length);
  // ENGINE = [Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing]MergeTree → Replicated…
  return rewritten.replace(/\bENGINE\s*=\s*((?:Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree)\b/g, 'ENGINE = Replicated$1');
}

/** The statements of a migration as they run: unchanged on one server, rewritten for a cluster. */
export function migrationStatements(sql: string, cluster?: string): string[] {
  const statements = splitStatements(sql);
  return cluster ? statements.map((s) => clusterStatement(s, cluster)) : statements;
}

/** Bookkeeping tables. The record is a ReplacingMergeTree: a name recorded twice by a race counts once. */
export function bookkeepingStatements(cluster?: string): string[] {
  return migrationStatements(
    [
      `CREATE TABLE IF NOT EXISTS schema_migrations (name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY name;`,
      // One row per lock ticket and one per release; old rows expire.
      `CREATE TABLE IF NOT EXISTS schema_migrations_lock (owner String, at DateTime64(6, 'UTC') DEFAULT now64(6), released UInt8 DEFAULT 0) ENGINE = MergeTree ORDER BY (at, owner) TTL toDateTime(at) + INTERVAL 1 DAY;`,
    ].join('\n'),
    cluster,
  );
}

/** ClickHouse codes a concurrent `IF NOT EXISTS` / `OR REPLACE` can raise while another process does the same. */
const RACE_CODES = /^Code: (57|82|473|517)\.|TABLE_ALREADY_EXISTS|DATABASE_ALREADY_EXISTS|already exists|DEADLOCK_AVOIDED|CANNOT_ASSIGN_ALTER/;

async function run(client: ClickHouseClient, query: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.command({ query });
      return;
    } catch (e) {
      // Idempotent DDL raced by another process: the object is there (or being replaced); try again.
      if (attempt < 5 && RACE_CODES.test((e as Error).message)) {
        await sleep(50 * attempt);
        continue;
      }
      throw e;
    }
  }
}

async function rows<T>(client: ClickHouseClient, query: string, query_params: Record<string, unknown> = {}): Promise<T[]> {
  return (await client.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
}

/**
 * A lease lock in a table. Each migrator inserts a ticket (timestamped by the server), waits
 * `settleMs` so that any ticket inserted at about the same time has landed, then the oldest
 * live ticket (not released, younger than the lease) holds the lock; the others wait for it to
 * be released. A holder that dies stops holding when its lease runs out. Under the lock the DDL
 * is idempotent anyway, so an expired lease that is still working does no harm beyond repeating.
 */
async function acquireLock(client: ClickHouseClient, owner: string, o: Required<Pick<MigrateOptions, 'leaseSeconds' | 'waitMs' | 'settleMs'>> & MigrateOptions): Promise<void> {
  await client.insert({ table: 'schema_migrations_lock', values: [{ owner }], format: 'JSONEachRow' });
  await sleep(o.settleMs);
  const deadline = Date.now() + o.waitMs;
  for (;;) {
    const holder = await rows<{ owner: string }>(
      client,
      `SELECT owner FROM schema_migrations_lock GROUP BY owner
       HAVING max(released) = 0 AND min(at) > now64(6) - toIntervalSecond({lease:UInt32})
       ORDER BY min(at), owner LIMIT 1`,
      { lease: o.leaseSeconds },
    );
    if (holder[0]?.owner === owner) return;
    if (!holder[0]) throw new Error(`migration lock: this migrator's ticket ${owner} is missing or expired (lease ${o.leaseSeconds}s)`);
    if (Date.now() > deadline) throw new Error(`migration lock: another migrator (${holder[0].owner}) held the lock for more than ${Math.round(o.waitMs / 1000)}s`);
    o.onWait?.(holder[0].owner);
    checkSignal(o.signal);
    await sleep(200);
  }
}

/**
 * Applies, in file-name order, each migration not yet recorded in `schema_migrations`.
 * Safe when several workers start together: one applies, the others wait and then find
 * nothing left to do.
 */
export async function migrate(client: ClickHouseClient, opts: MigrateOptions | string = {}): Promise<string[]> {
  const o = { leaseSeconds: 600, waitMs: 15 * 60_000, settleMs: 300, ...(typeof opts === 'string' ? { dir: opts } : opts) };
  const dir = o.dir ?? MIGRATIONS_DIR;
  for (const s of bookkeepingStatements(o.cluster)) await run(client, s);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const recorded = async () => new Set((await rows<{ name: string }>(client, 'SELECT DISTINCT name FROM schema_migrations')).map((r) => r.name));
  // Nothing to do (the usual start): no lock taken.
  if (files.every(((done) => (f: string) => done.has(f))(await recorded()))) return [];

  const owner = randomUUID();
  checkSignal(o.signal);
  try {
    // Inside the try: a ticket taken is released however this ends.
    if (!o.exclusive) await acquireLock(client, owner, o);
    const done = await recorded();
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      for (const statement of migrationStatements(readFileSync(join(dir, file), 'utf8'), o.cluster)) {
        checkSignal(o.signal);
        try {
          await run(client, statement);
        } catch (e) {
          throw new Error(`migration ${file} failed at: ${statement.slice(0, 120)}…: ${(e as Error).message}`);
        }
      }
      await client.insert({ table: 'schema_migrations', values: [{ name: file }], format: 'JSONEachRow' });
      applied.push(file);
    }
    return applied;
  } finally {
    if (!o.exclusive) await client.insert({ table: 'schema_migrations_lock', values: [{ owner, released: 1 }], format: 'JSONEachRow' }).catch(() => undefined);
  }
}
