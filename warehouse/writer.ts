import type { ClickHouseClient } from '@clickhouse/client';

export const STORAGE_TABLES = ['run_versions', 'step_versions', 'event_versions', 'link_versions', 'raw_runs', 'quarantine', 'gone_runs', 'workflow_names'] as const;
export type StorageTable = (typeof STORAGE_TABLES)[number];

/**
 * Buffers rows per table and inserts them in batches (JSONEachRow). No per-insert
 * `clickhouse_settings`: on a chDB connection they would become session SETs and
 * leak into every later statement (see schema/README.md).
 */
export class RowWriter {
  private readonly buffers = new Map<StorageTable, Record<string, unknown>[]>();
  private pending = 0;
  written = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly batchRows = 5_000,
  ) {}

  async add(table: StorageTable, row: Record<string, unknown>): Promise<void> {
    let buf = this.buffers.get(table);
    if (!buf) this.buffers.set(table, (buf = []));
    buf.push(row);
    if (++this.pending >= this.batchRows) await this.flush();
  }

  async flush(): Promise<void> {
    // Run rows last: a run row with its new change marker means "up to date", so if an
    // insert fails its steps and events must already be in, or the run is fetched again.
    const order = [...this.buffers.keys()].sort((a, b) => Number(a === 'run_versions') - Number(b === 'run_versions'));
    for (const table of order) {
      const rows = this.buffers.get(table)!;
      if (rows.length === 0) continue;
      try {
        await this.client.insert({ table, values: rows, format: 'JSONEachRow' });
      } catch (e) {
        throw new Error(`insert of ${rows.length} rows into ${table} failed: ${(e as Error).message}`);
      }
      this.written += rows.length;
      this.buffers.set(table, []);
    }
    this.pending = 0;
  }
}
