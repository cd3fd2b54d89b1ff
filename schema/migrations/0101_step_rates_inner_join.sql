-- step_failure_rates_daily joined runs with LEFT JOIN: a step whose run is not in
-- `runs` (not synced yet, or gone) got is_test = 0 and workflow_id = '' by default and
-- was counted under an empty workflow. An INNER JOIN counts only steps of known runs.
-- 0100 is already applied in deployed warehouses, so the view is replaced here.
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
INNER JOIN (SELECT source, run_id, workflow_id, workflow_name, is_test FROM runs) AS r
  ON s.source = r.source AND s.run_id = r.run_id
WHERE s.status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'continued')
  AND s.finished_at IS NOT NULL
  AND r.is_test = 0
GROUP BY day, source, workflow_id, step_ref;
