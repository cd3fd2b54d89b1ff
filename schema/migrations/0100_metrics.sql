-- Metrics of the warehouse contract. Plain views over the deduplicated relations
-- (`runs`, `steps`, `sync_runs`): a run's status changes after it is first written
-- (Strait: running -> failed -> compensated), and an incremental materialized view
-- over run_versions would count every version. A view reads the final state only.
--
-- Arithmetic (warehouse-contract.md):
--   * a run counts on the UTC day / Monday-based week its finished_at falls in;
--   * only terminal runs (succeeded, failed, timed_out, cancelled, continued);
--   * is_test = 1 runs are left out entirely;
--   * failure_rate = (failed + timed_out) / (succeeded + failed + timed_out), NULL when 0;
--   * p50/p95 over the bucket's terminal runs with a known duration_ms, NULL when none.
-- Percentiles use quantilesExactInclusive: for up to 8192 values it returns what
-- `quantiles` returns (linear interpolation between the closest ranks, position
-- level * (n - 1)); above that `quantiles` switches to a random sample, while this
-- stays exact, so an analyst can recompute any number by hand.
-- Counts are UInt32 so JSON clients receive numbers rather than quoted 64-bit integers.

CREATE OR REPLACE VIEW failure_rates_daily AS
SELECT
  toDate(assumeNotNull(finished_at), 'UTC') AS day,
  source,
  workflow_id,
  any(provider) AS provider,
  argMax(workflow_name, assumeNotNull(finished_at)) AS workflow_name,
  toUInt32(count()) AS runs,
  toUInt32(countIf(status = 'succeeded')) AS succeeded,
  toUInt32(countIf(status = 'failed')) AS failed,
  toUInt32(countIf(status = 'timed_out')) AS timed_out,
  toUInt32(countIf(status = 'cancelled')) AS cancelled,
  toUInt32(countIf(status = 'continued')) AS continued,
  if(succeeded + failed + timed_out = 0, NULL, (failed + timed_out) / (succeeded + failed + timed_out)) AS failure_rate,
  if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[1]) AS p50_duration_ms,
  if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[2]) AS p95_duration_ms
FROM runs
WHERE status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'continued')
  AND finished_at IS NOT NULL
  AND is_test = 0
GROUP BY day, source, workflow_id;

CREATE OR REPLACE VIEW failure_rates_weekly AS
SELECT
  toMonday(assumeNotNull(finished_at), 'UTC') AS week,
  source,
  workflow_id,
  any(provider) AS provider,
  argMax(workflow_name, assumeNotNull(finished_at)) AS workflow_name,
  toUInt32(count()) AS runs,
  toUInt32(countIf(status = 'succeeded')) AS succeeded,
  toUInt32(countIf(status = 'failed')) AS failed,
  toUInt32(countIf(status = 'timed_out')) AS timed_out,
  toUInt32(countIf(status = 'cancelled')) AS cancelled,
  toUInt32(countIf(status = 'continued')) AS continued,
  if(succeeded + failed + timed_out = 0, NULL, (failed + timed_out) / (succeeded + failed + timed_out)) AS failure_rate,
  if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[1]) AS p50_duration_ms,
  if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[2]) AS p95_duration_ms
FROM runs
WHERE status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'continued')
  AND finished_at IS NOT NULL
  AND is_test = 0
GROUP BY week, source, workflow_id;

-- Per step (by step_ref) with the same arithmetic; a step counts on the day it finished,
-- and steps of is_test runs are left out like their runs.
CREATE OR REPLACE VIEW step_failure_rates_daily AS
SELECT
  toDate(assumeNotNull(s.finished_at), 'UTC') AS day,
  s.source AS source,
  r.workflow_id AS workflow_id,
  s.step_ref AS step_ref,
  any(s.provider) AS provider,
  any(r.workflow_name) AS workflow_name,
  toUInt32(count()) AS runs,
  toUInt32(countIf(s.status = 'succeeded')) AS succeeded,
  toUInt32(countIf(s.status = 'failed')) AS failed,
  toUInt32(countIf(s.status = 'timed_out')) AS timed_out,
  toUInt32(countIf(s.status = 'cancelled')) AS cancelled,
  toUInt32(countIf(s.status = 'continued')) AS continued,
  if(succeeded + failed + timed_out = 0, NULL, (failed + timed_out) / (succeeded + failed + timed_out)) AS failure_rate,
  if(count(s.duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(s.duration_ms)[1]) AS p50_duration_ms,
  if(count(s.duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(s.duration_ms)[2]) AS p95_duration_ms
FROM steps AS s
LEFT JOIN (SELECT source, run_id, workflow_id, workflow_name, is_test FROM runs) AS r
  ON s.source = r.source AND s.run_id = r.run_id
WHERE s.status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'continued')
  AND s.finished_at IS NOT NULL
  AND r.is_test = 0
GROUP BY day, source, workflow_id, step_ref;

-- Per source: is the data complete? Last successful sync, how stale it is, open runs,
-- records quarantined in the last day, the latest sync failure.
CREATE OR REPLACE VIEW sync_health AS
WITH
  s AS (
    SELECT source,
           any(provider) AS s_provider,
           max(started_at) AS last_sync_at,
           argMax(status, started_at) AS last_sync_status,
           maxIf(finished_at, status = 'succeeded') AS last_success_at,
           toUInt32(countIf(status = 'failed' AND started_at >= now64(3) - INTERVAL 1 DAY)) AS sync_failures_1d,
           toUInt32(countIf(status = 'failed' AND started_at >= now64(3) - INTERVAL 7 DAY)) AS sync_failures_7d,
           argMaxIf(error, started_at, status = 'failed') AS last_error,
           maxIf(started_at, status = 'failed') AS last_error_at
    FROM sync_runs GROUP BY source
  ),
  r AS (
    SELECT source,
           any(provider) AS r_provider,
           toUInt32(count()) AS runs,
           toUInt32(countIf(is_terminal = 0)) AS open_runs,
           max(synced_at) AS last_run_synced_at
    FROM runs GROUP BY source
  ),
  q AS (
    SELECT source,
           toUInt32(countIf(severity = 'error')) AS quarantined_1d,
           toUInt32(countIf(severity != 'error')) AS warnings_1d
    FROM quarantine WHERE received_at >= now64(3) - INTERVAL 1 DAY GROUP BY source
  ),
  names AS (
    SELECT source FROM s UNION DISTINCT SELECT source FROM r UNION DISTINCT SELECT source FROM q
  )
SELECT
  toString(names.source) AS source,
  if(s.s_provider != '', toString(s.s_provider), toString(r.r_provider)) AS provider,
  if(s.source = '', NULL, s.last_sync_at) AS last_sync_at,
  toString(s.last_sync_status) AS last_sync_status,
  s.last_success_at AS last_success_at,
  if(s.last_success_at IS NULL, NULL, dateDiff('second', s.last_success_at, now64(3))) AS freshness_s,
  r.runs AS runs,
  r.open_runs AS open_runs,
  q.quarantined_1d AS quarantined_1d,
  q.warnings_1d AS warnings_1d,
  s.sync_failures_1d AS sync_failures_1d,
  s.sync_failures_7d AS sync_failures_7d,
  s.last_error AS last_error,
  if(s.last_error = '', NULL, s.last_error_at) AS last_error_at
FROM names
LEFT JOIN s ON s.source = names.source
LEFT JOIN r ON r.source = names.source
LEFT JOIN q ON q.source = names.source;

-- The weekly reliability report, one row per (week, source scope, format); a
-- regenerated report replaces the earlier one. source = '' is the all-sources report.
CREATE TABLE IF NOT EXISTS reports (
  week Date,
  source String,
  format LowCardinality(String),
  generated_at DateTime64(3, 'UTC'),
  path String,
  summary String,
  body String CODEC(ZSTD(3)),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (week, source, format);
