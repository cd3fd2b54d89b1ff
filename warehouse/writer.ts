import type { ClickHouseClient } from '@clickhouse/client';
import type { EventRow, GoneRunRow, LinkRow, QuarantineRow, RawRunRow, RunRow, StepRow, WorkflowNameRow } from './rows.js';

/** The storage tables a sync writes, with the row type of each. */
export interface TableRows {
  run_versions: RunRow;
  step_versions: StepRow;
  event_versions: EventRow;
  link_versions: LinkRow;
  raw_runs: RawRunRow;
  quarantine: QuarantineRow;
  gone_runs: GoneRunRow;
  workflow_names: WorkflowNameRow;
}
export type StorageTable = keyof TableRows;
export const STORAGE_TABLES: readonly StorageTable[] = ['run_versions', 'step_versions', 'event_versions', 'link_versions', 'raw_runs', 'quarantine', 'gone_runs', 'workflow_names'];

/** Rows that belong together (one run's): they are always inserted in the same batch. */
export type Unit = { [T in StorageTable]?: TableRows[T][] };

/**
 * Batches rows and inserts them (JSONEachRow), with three rules that make lost and
 * doubled rows impossible whatever callers do concurrently:
 * - a batch leaves the buffer (synchronously) before it is written, so rows added while
 *   an insert is awaited go into the next batch;
 * - batches are inserted one after another, never overlapping;
 * - a unit is never split between batches, and within a batch run rows go last: a run
 *   row with its new change marker means "up to date", so it must not land before the
 *   run's steps and events.
 * After a failed insert the writer stays failed: every later call throws that failure, so
 * nothing after it is counted as written.
 *
 * No per-insert `clickhouse_settings`: on a chDB connection they would become session
 * SETs and leak into every later statement (schema/README.md).
 */
export class RowWriter {
  private pending: Unit[] = [];
  private pendingRows = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  /** Rows inserted so far. */
  written = 0;
  /** Rows handed to this writer so far (inserted, or queued to be). */
  queued = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly batchRows = 5_000,
  ) {}

  /** Queues a unit; when the buffer is full, waits for it to be written. */
  async write(unit: Unit): Promise<void> {
    if (this.failure) throw this.failure;
    let n = 0;
    for (const rows of Object.values(unit)) n += rows?.length ?? 0;
    if (n === 0) return;
    this.pending.push(unit);
    this.pendingRows += n;
    this.queued += n;
    if (this.pendingRows >= this.batchRows) await this.flush();
  }

  add<T extends StorageTable>(table: T, row: TableRows[T]): Promise<void> {
    const unit: Unit = {};
    (unit[table] as TableRows[T][]) = [row];
    return this.write(unit);
  }

  /** Writes everything queued so far (after any batch already on its way); throws if any of it failed. */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    const done = this.chain.then(() => {
      if (this.failure) throw this.failure;
      return this.insert(batch);
    });
    this.chain = done.catch((e: unknown) => {
      this.failure ??= e instanceof Error ? e : new Error(String(e));
    });
    return done;
  }

  private async insert(batch: Unit[]): Promise<void> {
    const tables = new Map<StorageTable, unknown[]>();
    for (const unit of batch)
      for (const [table, rows] of Object.entries(unit) as [StorageTable, unknown[]][]) {
        const all = tables.get(table);
        if (all) for (const r of rows) all.push(r);
        else tables.set(table, [...rows]);
      }
    const order = [...tables.keys()].sort((a, b) => Number(a === 'run_versions') - Number(b === 'run_versions'));
    for (const table of order) {
      const rows = tables.get(table)!;
      try {
        await this.client.insert({ table, values: rows, format: 'JSONEachRow' });
      } catch (e) {
        throw new Error(`insert of ${rows.length} rows into ${table} failed: ${(e as Error).message}`);
      }
      this.written += rows.length;
    }
  }
}
