import type { ClickHouseClient } from '@clickhouse/client';
import { fromCh, toCh } from '../core/time.js';
import type { KnownRun, QuarantineRecord, RunWrite, SyncStore } from '../sync/store.js';
import { eventRow, linkRow, runRow, stepRow, type RowContext } from './rows.js';
import { RowWriter, type Unit } from './writer.js';
import { runsToRepoll, select } from './queries.js';
import { nextVersion } from './version.js';
import type { CursorColumn } from '../providers/types.js';

/** The sync's store on ClickHouse (chDB or a server): reads with queries, writes through one RowWriter. */
export class ClickHouseStore implements SyncStore {
  private readonly writer: RowWriter;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly ctx: { source: string; provider: string; syncId: string; cursorColumn?: CursorColumn | null; now?: () => number },
  ) {
    this.writer = new RowWriter(client);
  }

  private now(): number {
    return (this.ctx.now ?? Date.now)();
  }

  get rowsQueued(): number {
    return this.writer.queued;
  }

  async knownRuns(ids: string[]): Promise<Map<string, KnownRun>> {
    if (ids.length === 0) return new Map();
    const rows = await select<{ run_id: string; fingerprint: string; is_terminal: number; finished_at: string | null; first_seen_at: string; version: number | string; content_hash: string; provider_status: string }>(
      this.client,
      `SELECT run_id, fingerprint, is_terminal, finished_at, first_seen_at, version, content_hash, provider_status FROM run_versions FINAL
       WHERE source = {source:String} AND run_id IN {ids:Array(String)}`,
      { source: this.ctx.source, ids },
    );
    // 64-bit integers arrive as text over HTTP.
    return new Map(
      rows.map((r) => [
        r.run_id,
        { run_id: r.run_id, fingerprint: r.fingerprint, is_terminal: Number(r.is_terminal) === 1, finished_at: fromCh(r.finished_at), first_seen_at: fromCh(r.first_seen_at) ?? this.now(), version: Number(r.version), content_hash: r.content_hash, provider_status: r.provider_status },
      ]),
    );
  }

  runsToRepoll(q: { kind: 'known' | 'inbox'; settleSince: number; listedSince: number | null; after: string; limit: number }): Promise<{ ids: string[]; next: string }> {
    return runsToRepoll(this.client, { source: this.ctx.source, syncId: this.ctx.syncId, cursorColumn: this.ctx.cursorColumn ?? null, ...q });
  }

  async writeRun(w: RunWrite): Promise<{ version: number; warnings: string[] }> {
    const now = this.now();
    const runId = w.bundle.run.run_id;
    const known = w.known && w.known.run_id === runId ? w.known : undefined;
    // Above the stored version even when another worker's clock ran ahead of this one's.
    const version = Math.max(nextVersion(), (known?.version ?? 0) + 1);
    const ctx: RowContext = { source: this.ctx.source, provider: this.ctx.provider, syncId: this.ctx.syncId, now, version, syncedAt: toCh(now) };
    const run = runRow(w.bundle.run, w.statuses.run, ctx, w.fingerprint, known ? known.first_seen_at : null, w.contentHash);
    const steps = (w.bundle.steps ?? []).map((s) => stepRow(runId, s, w.statuses.step, ctx));
    const unit: Unit = {
      step_versions: steps.map((s) => s.row),
      event_versions: (w.bundle.events ?? []).map((e) => eventRow(runId, e, ctx)),
      link_versions: (w.bundle.links ?? []).map((l) => linkRow(runId, l, ctx)),
      raw_runs: w.keepRaw ? [] : [{ source: this.ctx.source, run_id: runId, provider: this.ctx.provider, fetched_at: ctx.syncedAt, payload: JSON.stringify(w.bundle.raw), version }],
      run_versions: [run.row],
    };
    await this.writer.write(unit);
    return { version, warnings: [...run.warnings, ...steps.flatMap((s) => s.warnings)] };
  }

  quarantine(q: QuarantineRecord): Promise<void> {
    return this.writer.add('quarantine', {
      source: this.ctx.source,
      received_at: toCh(this.now()),
      provider: this.ctx.provider,
      sync_id: this.ctx.syncId,
      endpoint: q.endpoint,
      record_key: q.key,
      severity: q.severity,
      reason: q.reason.slice(0, 2000),
      payload: q.payload.slice(0, 100_000),
    });
  }

  runGone(runId: string, reason: string): Promise<void> {
    return this.writer.add('gone_runs', { source: this.ctx.source, run_id: runId, gone_at: toCh(this.now()), reason: reason.slice(0, 500), version: nextVersion() });
  }

  /** The stored name of each workflow, read once: a name is written only when it is new or changed. */
  private names: Promise<Map<string, string>> | null = null;

  async workflowName(workflowId: string, name: string): Promise<void> {
    this.names ??= select<{ workflow_id: string; name: string }>(
      this.client,
      'SELECT workflow_id, argMax(name, version) AS name FROM workflow_names WHERE source = {source:String} GROUP BY workflow_id',
      { source: this.ctx.source },
    ).then((rows) => new Map(rows.map((r) => [r.workflow_id, r.name])));
    const known = await this.names;
    if (known.get(workflowId) === name) return;
    known.set(workflowId, name);
    await this.writer.add('workflow_names', { source: this.ctx.source, workflow_id: workflowId, name, seen_at: toCh(this.now()), version: nextVersion() });
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async missing(written: Map<string, number>): Promise<string[]> {
    if (written.size === 0) return [];
    const ids = [...written.keys()];
    const rows = await select<{ run_id: string; v: number | string }>(
      this.client,
      `SELECT run_id, max(version) AS v FROM run_versions WHERE source = {source:String} AND run_id IN {ids:Array(String)} GROUP BY run_id`,
      { source: this.ctx.source, ids },
    );
    const landed = new Map(rows.map((r) => [r.run_id, Number(r.v)]));
    return ids.filter((id) => (landed.get(id) ?? -1) < written.get(id)!);
  }
}
