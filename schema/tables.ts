/**
 * Typed views of the warehouse relations for Kysely, kept next to the SQL that
 * creates them (migrations/0002_contract_views.sql, 0100_metrics.sql,
 * 0200_retries_recovery_signatures.sql; definitions in docs/metrics.md).
 *
 * Types are what the JSON answer carries: DateTime64/Date come back as text
 * ('2026-11-16 08:00:00.000', '2026-11-16'); 64-bit integers come back as
 * numbers because warehouse/kysely.ts asks for unquoted 64-bit integers.
 * Filters may pass a `Date` where a time is compared.
 */
import type { ColumnType } from 'kysely';
import type { NormalStatus } from '../core/status.js';

/** DateTime64(3, 'UTC'): read as text, compared with a Date or the same text. */
export type DateTime = ColumnType<string, Date | string, Date | string>;
export type NullableDateTime = ColumnType<string | null, Date | string | null, Date | string | null>;
/** Date: read as 'YYYY-MM-DD'. */
export type DateOnly = ColumnType<string, Date | string, Date | string>;

/** The contract's normalised status vocabulary (core/status.ts). */
export type RunStatus = NormalStatus;

export interface RunsTable {
  source: string;
  run_id: string;
  provider: string;
  workflow_id: string;
  workflow_name: string;
  workflow_version: string;
  status: RunStatus;
  provider_status: string;
  is_terminal: number;
  created_at: NullableDateTime;
  started_at: NullableDateTime;
  finished_at: NullableDateTime;
  updated_at: NullableDateTime;
  queue_ms: number | null;
  duration_ms: number | null;
  total_ms: number | null;
  trigger: string;
  triggered_by: string;
  parent_run_id: string;
  retry_of_run_id: string;
  error: string;
  cost: number | null;
  is_test: number;
  attributes: Record<string, string>;
  first_seen_at: DateTime;
  synced_at: DateTime;
  fingerprint: string;
  sync_id: string;
}

/** `runs` as analysts read it: the stored columns and what the view derives from them. */
export interface RunsView extends RunsTable {
  /** The first run of the retry chain this run belongs to (itself when it retries nothing). */
  retry_root_run_id: string;
  /** 1 for the chain's root, 2 for its first retry… */
  attempt: number;
  /** Failed and timed-out runs: the error with ids, numbers, addresses… replaced by placeholders. */
  error_signature: string;
}

export interface StepsTable {
  source: string;
  run_id: string;
  step_id: string;
  provider: string;
  step_ref: string;
  attempt: number;
  status: RunStatus;
  provider_status: string;
  is_terminal: number;
  started_at: NullableDateTime;
  finished_at: NullableDateTime;
  duration_ms: number | null;
  error: string;
  attributes: Record<string, string>;
  synced_at: DateTime;
}

export interface StepsView extends StepsTable {
  error_signature: string;
}

export interface EventsTable {
  source: string;
  run_id: string;
  event_id: string;
  provider: string;
  seq: number;
  event_type: string;
  occurred_at: NullableDateTime;
  step_ref: string;
  message: string;
  data: string;
  synced_at: DateTime;
}

export interface LinksTable {
  source: string;
  run_id: string;
  url: string;
  provider: string;
  label: string;
  icon: string;
  added_at: NullableDateTime;
  synced_at: DateTime;
}

export interface SyncRunsTable {
  source: string;
  sync_id: string;
  provider: string;
  started_at: DateTime;
  finished_at: NullableDateTime;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  pages: number;
  api_calls: number;
  runs_new: number;
  runs_updated: number;
  rows_written: number;
  retries: number;
  rate_limited: number;
  quarantined: number;
  error: string;
  watermark_before: NullableDateTime;
  watermark_after: NullableDateTime;
}

export interface SyncStateTable {
  source: string;
  watermark: NullableDateTime;
  last_sync_id: string;
  updated_at: DateTime;
  version: number;
}

export interface QuarantineTable {
  source: string;
  received_at: DateTime;
  provider: string;
  sync_id: string;
  endpoint: string;
  record_key: string;
  severity: 'error' | 'warning';
  reason: string;
  payload: string;
}

/** Shared columns of the failure-rate views. */
export interface RateColumns {
  source: string;
  workflow_id: string;
  provider: string;
  workflow_name: string;
  runs: number;
  succeeded: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  continued: number;
  failure_rate: number | null;
  p50_duration_ms: number | null;
  p95_duration_ms: number | null;
}

/** First attempts of retry chains, counted like `failure_rate` (docs/metrics.md). */
export interface FirstAttemptColumns {
  first_attempt_failures: number;
  rescued_by_retry: number;
  first_attempt_failure_rate: number | null;
}

export interface FailureRatesDailyView extends RateColumns, FirstAttemptColumns {
  day: DateOnly;
  /** First attempts that succeeded, failed or timed out (the first-attempt rate's denominator). */
  first_attempts: number;
}

export interface FailureRatesWeeklyView extends RateColumns, FirstAttemptColumns {
  /** The Monday of the ISO week (UTC). */
  week: DateOnly;
  first_attempts: number;
  /** Mean recovery time of the recoveries that ended in the week; NULL when none did. */
  mttr_ms: number | null;
  /** Time in the week during which the workflow's latest decided run had failed. */
  red_ms: number;
}

export interface StepFailureRatesDailyView extends RateColumns, FirstAttemptColumns {
  day: DateOnly;
  step_ref: string;
}

/** The runs every rate counts (terminal, finished, not a test), with their bucket and chain outcome. */
export interface TerminalRunsView {
  source: string;
  run_id: string;
  provider: string;
  workflow_id: string;
  workflow_name: string;
  status: RunStatus;
  created_at: NullableDateTime;
  started_at: NullableDateTime;
  finished_at: DateTime;
  queue_ms: number | null;
  duration_ms: number | null;
  total_ms: number | null;
  cost: number | null;
  error: string;
  error_signature: string;
  retry_root_run_id: string;
  attempt: number;
  day: DateOnly;
  week: DateOnly;
  is_failure: number;
  is_decided: number;
  rescued_by_retry: number;
}

export interface RetryChainsView {
  source: string;
  root_run_id: string;
  provider: string;
  workflow_id: string;
  workflow_name: string;
  attempts: number;
  first_status: RunStatus;
  final_status: RunStatus;
  rescued: number;
  first_started_at: NullableDateTime;
  last_finished_at: NullableDateTime;
  total_ms: number | null;
}

export interface RecoveriesView {
  source: string;
  workflow_id: string;
  provider: string;
  workflow_name: string;
  failed_at: DateTime;
  failed_run_id: string;
  recovered_at: NullableDateTime;
  recovery_ms: number | null;
  failed_runs: number;
}

export interface FailureSignaturesWeeklyView {
  week: DateOnly;
  source: string;
  workflow_id: string;
  error_signature: string;
  provider: string;
  workflow_name: string;
  sample_error: string;
  runs: number;
  first_seen_at: DateTime;
  is_new: number;
}

export interface SyncHealthView {
  source: string;
  provider: string;
  last_sync_at: string | null;
  last_sync_status: string;
  last_success_at: string | null;
  freshness_s: number | null;
  runs: number;
  open_runs: number;
  quarantined_1d: number;
  warnings_1d: number;
  sync_failures_1d: number;
  sync_failures_7d: number;
  last_error: string;
  last_error_at: string | null;
}

export interface ReportsTable {
  week: DateOnly;
  source: string;
  format: 'md' | 'html';
  generated_at: DateTime;
  path: string;
  summary: string;
  body: string;
  version: number;
}

export interface Database {
  runs: RunsView;
  steps: StepsView;
  events: EventsTable;
  links: LinksTable;
  sync_runs: SyncRunsTable;
  sync_state: SyncStateTable;
  quarantine: QuarantineTable;
  failure_rates_daily: FailureRatesDailyView;
  failure_rates_weekly: FailureRatesWeeklyView;
  step_failure_rates_daily: StepFailureRatesDailyView;
  terminal_runs: TerminalRunsView;
  retry_chains: RetryChainsView;
  recoveries: RecoveriesView;
  failure_signatures_weekly: FailureSignaturesWeeklyView;
  sync_health: SyncHealthView;
  reports: ReportsTable;
}
