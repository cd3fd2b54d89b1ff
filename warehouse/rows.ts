import { toCh } from '../core/time.js';
import { computeDurations } from '../core/durations.js';
import { isTerminal, normaliseStatus, type StatusMap } from '../core/status.js';
import type { Insertable, InsertType } from 'kysely';
import type { EventRecord, LinkRecord, RunRecord, StepRecord } from '../sync/records.js';
import type { EventsTable, LinksTable, QuarantineTable, RunsTable, StepsTable } from '../schema/tables.js';

/**
 * A row of `run_versions`: the analyst-facing `runs` columns (schema/tables.ts) as they are
 * inserted (times as ClickHouse text), plus the version.
 */
export type RunRow = Insertable<RunsTable> & { version: number; content_hash: string };

export interface RowContext {
  source: string;
  provider: string;
  syncId: string;
  now: number;
  version: number;
  /** `now` as ClickHouse text: on every row of the run, formatted once. */
  syncedAt: string;
}

// Rows are built field by field: in Node 20, spreading an object into a literal that adds keys
// of its own was measured at 5-20 µs per object, more than all the rest of a row, and there is
// a row per step and per event. String columns are not nullable: a text the provider did not
// give is stored as ''.
export function runRow(r: RunRecord, statuses: StatusMap, ctx: RowContext, fingerprint: string, firstSeen: number | null, contentHash = ''): { row: RunRow; warnings: string[] } {
  const status = normaliseStatus(statuses, r.provider_status);
  const d = computeDurations(r.created_at, r.started_at, r.finished_at);
  return {
    row: {
      source: ctx.source,
      run_id: r.run_id,
      provider: ctx.provider,
      workflow_id: r.workflow_id ?? '',
      workflow_name: r.workflow_name ?? '',
      workflow_version: r.workflow_version ?? '',
      provider_status: r.provider_status ?? '',
      trigger: r.trigger ?? '',
      triggered_by: r.triggered_by ?? '',
      parent_run_id: r.parent_run_id ?? '',
      retry_of_run_id: r.retry_of_run_id ?? '',
      error: r.error ?? '',
      status,
      is_terminal: isTerminal(status) ? 1 : 0,
      created_at: toCh(r.created_at),
      started_at: toCh(r.started_at),
      finished_at: toCh(r.finished_at),
      updated_at: toCh(r.updated_at),
      queue_ms: d.queue_ms,
      duration_ms: d.duration_ms,
      total_ms: d.total_ms,
      cost: r.cost ?? null,
      is_test: r.is_test ? 1 : 0,
      attributes: r.attributes ?? {},
      fingerprint,
      content_hash: contentHash,
      first_seen_at: firstSeen === null ? ctx.syncedAt : toCh(firstSeen),
      synced_at: ctx.syncedAt,
      sync_id: ctx.syncId,
      version: ctx.version,
    },
    warnings: d.negative,
  };
}

export function stepRow(runId: string, s: StepRecord, statuses: StatusMap, ctx: RowContext): { row: StepRow; warnings: string[] } {
  const status = normaliseStatus(statuses, s.provider_status);
  const d = computeDurations(null, s.started_at, s.finished_at);
  return {
    row: {
      source: ctx.source,
      run_id: runId,
      provider: ctx.provider,
      synced_at: ctx.syncedAt,
      version: ctx.version,
      step_id: s.step_id,
      step_ref: s.step_ref ?? '',
      provider_status: s.provider_status ?? '',
      error: s.error ?? '',
      attempt: Math.max(0, Math.trunc(s.attempt ?? 0)),
      status,
      is_terminal: isTerminal(status) ? 1 : 0,
      started_at: toCh(s.started_at),
      finished_at: toCh(s.finished_at),
      duration_ms: d.duration_ms,
      attributes: s.attributes ?? {},
    },
    warnings: d.negative.length ? d.negative.map((w) => `step ${s.step_id}: ${w}`) : NONE,
  };
}

export function eventRow(runId: string, e: EventRecord, ctx: RowContext): EventRow {
  return {
    source: ctx.source,
    run_id: runId,
    provider: ctx.provider,
    synced_at: ctx.syncedAt,
    version: ctx.version,
    event_id: e.event_id,
    seq: e.seq,
    event_type: e.event_type ?? '',
    step_ref: e.step_ref ?? '',
    message: e.message ?? '',
    occurred_at: toCh(e.occurred_at),
    data: e.data === undefined || e.data === null ? '' : typeof e.data === 'string' ? e.data : JSON.stringify(e.data),
  };
}

export function linkRow(runId: string, l: LinkRecord, ctx: RowContext): LinkRow {
  return {
    source: ctx.source,
    run_id: runId,
    provider: ctx.provider,
    synced_at: ctx.syncedAt,
    version: ctx.version,
    url: l.url,
    label: l.label ?? '',
    icon: l.icon ?? '',
    added_at: toCh(l.added_at),
  };
}

const NONE: string[] = [];

type Ch = string;

/** A row as inserted: every column of the relation's type, with its insert type. */
type Row<T> = { [K in keyof T]-?: InsertType<T[K]> };

export type StepRow = Row<StepsTable> & { version: number };
export type EventRow = Row<EventsTable> & { version: number };
export type LinkRow = Row<LinksTable> & { version: number };
export type QuarantineRow = Row<QuarantineTable>;

export interface RawRunRow {
  source: string;
  run_id: string;
  provider: string;
  fetched_at: Ch;
  payload: string;
  version: number;
}

export interface GoneRunRow {
  source: string;
  run_id: string;
  gone_at: Ch;
  reason: string;
  version: number;
}

export interface WorkflowNameRow {
  source: string;
  workflow_id: string;
  name: string;
  seen_at: Ch;
  version: number;
}

