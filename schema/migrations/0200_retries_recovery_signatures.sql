-- Retry chains, recoveries and failure signatures (docs/metrics.md, definitions v2).
-- Everything here is computed at read time from the deduplicated storage, so the sync
-- engine writes nothing new: a run's place in its retry chain follows from the links
-- the providers give (Strait retry_of_run_id, B3OS sourceRunId, a Tracecat reset that
-- starts a new run under the same execution id).

-- An error text with its variable parts replaced by placeholders, so messages that differ
-- only in ids, numbers, addresses or times group together. Whole shapes go first (URLs,
-- e-mail addresses, UUIDs, times, IP addresses, quoted values, paths); then the text is cut
-- into words, and a word that is a number becomes <n> (a unit stays: `1234s` -> `<n>s`),
-- a word of five characters or more holding a digit becomes <id> (hex ids, `acct_1234`),
-- short names such as `b3` or `e2e` stay.
CREATE OR REPLACE FUNCTION runsync_error_signature AS (e) -> trimBoth(replaceRegexpAll(arrayStringConcat(arrayMap(
  t -> multiIf(
    match(t, '^[0-9]+$'), '<n>',
    match(t, '^[0-9]+[A-Za-z]{1,3}$'), concat('<n>', replaceRegexpOne(t, '^[0-9]+', '')),
    length(t) >= 5 AND match(t, '[0-9]'), '<id>',
    t),
  extractAll(
    replaceRegexpAll(replaceRegexpAll(replaceRegexpAll(replaceRegexpAll(replaceRegexpAll(replaceRegexpAll(replaceRegexpAll(e,
      '[A-Za-z][A-Za-z0-9+.-]*://[^\\s\'"<>]+', '<url>'),
      '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}', '<email>'),
      '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>'),
      '\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2})?)?', '<time>'),
      '\\b\\d{1,3}(\\.\\d{1,3}){3}(:\\d+)?\\b', '<ip>'),
      '"[^"]*"|\'[^\']*\'|`[^`]*`', '<value>'),
      '(^|[\\s(=:,])(~?/[^\\s/\'"(),]+)+/?', '\\1<path>'),
    '[A-Za-z0-9_]+|[^A-Za-z0-9_]+'))),
  '\\s+', ' '));

-- One real message, with what could identify a person or open a door masked.
CREATE OR REPLACE FUNCTION runsync_scrub_error AS (e) -> replaceRegexpAll(replaceRegexpAll(e,
    '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}', '<email>'),
    '(?i)(bearer|token|password|secret|api[_-]?key|authorization)([=: ]+)[^\\s,;]+', '\\1\\2<redacted>');

-- The run each run retries ('' for none). Strait and B3OS name it; a Tracecat reset keeps
-- the execution id and starts a new run, which retries the run before it in that execution
-- (unless that run continued as new: its successor is a continuation, not a retry).
CREATE OR REPLACE VIEW run_retry_links AS
SELECT source, run_id,
       if(retry_of_run_id != '', retry_of_run_id, if(prev_status = 'continued', '', prev_run_id)) AS retry_of
FROM (
  SELECT source, run_id, retry_of_run_id,
         lagInFrame(run_id, 1, '') OVER w AS prev_run_id,
         lagInFrame(toString(status), 1, '') OVER w AS prev_status
  FROM run_versions FINAL
  -- Only Tracecat runs share a partition (their execution id); every other run is alone in its own.
  WINDOW w AS (PARTITION BY source, if(provider = 'tracecat' AND attributes['execution_id'] != '', attributes['execution_id'], run_id)
               ORDER BY coalesce(created_at, started_at, first_seen_at), run_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
);

-- Each run's chain root and attempt (1 for the root). A run whose predecessor is not in
-- the warehouse starts its own chain; runs in a cycle (bad data) are left to `runs`,
-- which then counts them as their own root.
CREATE OR REPLACE VIEW run_chains AS
WITH RECURSIVE chain AS (
  SELECT source, run_id, run_id AS root_run_id, toUInt32(1) AS attempt
  FROM run_retry_links
  WHERE retry_of = '' OR (source, retry_of) NOT IN (SELECT source, run_id FROM run_retry_links)
  UNION ALL
  SELECT l.source AS source, l.run_id AS run_id, c.root_run_id AS root_run_id, toUInt32(c.attempt + 1) AS attempt
  FROM run_retry_links AS l
  INNER JOIN chain AS c ON l.source = c.source AND l.retry_of = c.run_id
)
SELECT source, run_id, root_run_id, attempt FROM chain;

-- `runs` keeps every column of 0005 in place and gains retry_root_run_id, attempt and
-- error_signature; retry_of_run_id is filled for Tracecat resets too.
CREATE OR REPLACE VIEW runs AS
SELECT r.source AS source, r.run_id AS run_id, r.provider AS provider, r.workflow_id AS workflow_id,
       if(r.workflow_name != '', r.workflow_name, w.name) AS workflow_name,
       r.workflow_version AS workflow_version, r.status AS status, r.provider_status AS provider_status,
       r.is_terminal AS is_terminal, r.created_at AS created_at, r.started_at AS started_at, r.finished_at AS finished_at,
       r.updated_at AS updated_at, r.queue_ms AS queue_ms, r.duration_ms AS duration_ms, r.total_ms AS total_ms,
       r.trigger AS trigger, r.triggered_by AS triggered_by, r.parent_run_id AS parent_run_id,
       if(r.retry_of_run_id != '', r.retry_of_run_id, l.retry_of) AS retry_of_run_id,
       r.error AS error, r.cost AS cost, r.is_test AS is_test, r.attributes AS attributes,
       r.first_seen_at AS first_seen_at, r.synced_at AS synced_at, r.fingerprint AS fingerprint, r.sync_id AS sync_id,
       if(c.root_run_id = '', r.run_id, c.root_run_id) AS retry_root_run_id,
       if(c.attempt = 0, toUInt32(1), c.attempt) AS attempt,
       if(r.status IN ('failed', 'timed_out'), runsync_error_signature(r.error), '') AS error_signature
FROM run_versions AS r FINAL
LEFT JOIN (SELECT source, workflow_id, argMax(name, version) AS name FROM workflow_names GROUP BY source, workflow_id) AS w
  ON w.source = r.source AND w.workflow_id = r.workflow_id
LEFT JOIN run_retry_links AS l ON l.source = r.source AND l.run_id = r.run_id
LEFT JOIN run_chains AS c ON c.source = r.source AND c.run_id = r.run_id;

CREATE OR REPLACE VIEW steps AS
SELECT source, run_id, step_id, provider, step_ref, attempt, status, provider_status, is_terminal,
       started_at, finished_at, duration_ms, error, attributes, synced_at,
       if(status IN ('failed', 'timed_out'), runsync_error_signature(error), '') AS error_signature
FROM step_versions FINAL;

-- One row per retry chain (test runs left out, as in every rate).
CREATE OR REPLACE VIEW retry_chains AS
SELECT
  source,
  retry_root_run_id AS root_run_id,
  any(provider) AS provider,
  argMin(workflow_id, attempt) AS workflow_id,
  argMin(workflow_name, attempt) AS workflow_name,
  toUInt32(count()) AS attempts,
  argMin(status, attempt) AS first_status,
  argMax(status, (attempt, coalesce(created_at, started_at, first_seen_at), run_id)) AS final_status,
  CAST(first_status IN ('failed', 'timed_out') AND final_status = 'succeeded', 'UInt8') AS rescued,
  min(started_at) AS first_started_at,
  if(argMax(is_terminal, (attempt, coalesce(created_at, started_at, first_seen_at), run_id)) = 1, max(finished_at), NULL) AS last_finished_at,
  if(count(duration_ms) = 0, NULL, sum(duration_ms)) AS total_ms
FROM runs
WHERE is_test = 0
GROUP BY source, retry_root_run_id;

-- The runs every rate counts, with their chain's outcome: one shared definition under
-- the daily and weekly rates, the report and the alerts. The chain's first and final
-- status come from a window over the chain (the same rule as retry_chains), so `runs`
-- is read once.
CREATE OR REPLACE VIEW terminal_runs AS
SELECT
  source, run_id, provider, workflow_id, workflow_name, status, created_at, started_at, finished_at,
  queue_ms, duration_ms, total_ms, cost, error, error_signature, retry_root_run_id, attempt,
  toDate(assumeNotNull(finished_at), 'UTC') AS day,
  toMonday(assumeNotNull(finished_at), 'UTC') AS week,
  CAST(status IN ('failed', 'timed_out'), 'UInt8') AS is_failure,
  CAST(status IN ('succeeded', 'failed', 'timed_out'), 'UInt8') AS is_decided,
  CAST(attempt = 1 AND status IN ('failed', 'timed_out') AND chain_first_status IN ('failed', 'timed_out') AND chain_final_status = 'succeeded', 'UInt8') AS rescued_by_retry
FROM (
  SELECT r.source AS source, r.run_id AS run_id, r.provider AS provider, r.workflow_id AS workflow_id, r.workflow_name AS workflow_name,
         r.status AS status, r.created_at AS created_at, r.started_at AS started_at, r.finished_at AS finished_at,
         r.queue_ms AS queue_ms, r.duration_ms AS duration_ms, r.total_ms AS total_ms, r.cost AS cost,
         r.error AS error, r.error_signature AS error_signature, r.retry_root_run_id AS retry_root_run_id, r.attempt AS attempt,
         toString(argMin(r.status, r.attempt) OVER chain) AS chain_first_status,
         toString(argMax(r.status, (r.attempt, coalesce(r.created_at, r.started_at, r.first_seen_at), r.run_id)) OVER chain) AS chain_final_status
  FROM runs AS r
  WHERE r.is_test = 0
  WINDOW chain AS (PARTITION BY r.source, r.retry_root_run_id)
)
WHERE status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'continued')
  AND finished_at IS NOT NULL;

CREATE OR REPLACE VIEW failure_rates_daily AS
SELECT
  day,
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
  if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[2]) AS p95_duration_ms,
  toUInt32(countIf(attempt = 1 AND is_decided = 1)) AS first_attempts,
  toUInt32(countIf(attempt = 1 AND is_failure = 1)) AS first_attempt_failures,
  toUInt32(sum(rescued_by_retry)) AS rescued_by_retry,
  if(first_attempts = 0, NULL, first_attempt_failures / first_attempts) AS first_attempt_failure_rate
FROM terminal_runs
GROUP BY day, source, workflow_id;

-- A recovery: the first failure after a success (or the workflow's first decided run), the
-- next success, and the failures in between. Cancelled and continued runs neither break
-- nor end a red spell. Runs are ordered by finished_at, then run_id.
CREATE OR REPLACE VIEW recoveries AS
WITH
  ordered AS (
    SELECT source, workflow_id, provider, workflow_name, run_id, finished_at, is_failure,
           lagInFrame(toInt8(is_failure), 1, toInt8(-1)) OVER w AS prev_failure
    FROM terminal_runs
    WHERE is_decided = 1
    WINDOW w AS (PARTITION BY source, workflow_id ORDER BY finished_at, run_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  ),
  spells AS (
    SELECT *, sum(toUInt32(is_failure = 1 AND prev_failure != 1)) OVER w AS spell
    FROM ordered
    WINDOW w AS (PARTITION BY source, workflow_id ORDER BY finished_at, run_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
SELECT
  source,
  workflow_id,
  any(provider) AS provider,
  argMax(workflow_name, assumeNotNull(finished_at)) AS workflow_name,
  assumeNotNull(minIf(finished_at, is_failure = 1)) AS failed_at,
  argMinIf(run_id, (finished_at, run_id), is_failure = 1) AS failed_run_id,
  if(countIf(is_failure = 0) = 0, NULL, minIf(finished_at, is_failure = 0)) AS recovered_at,
  if(recovered_at IS NULL, NULL, dateDiff('millisecond', failed_at, assumeNotNull(recovered_at))) AS recovery_ms,
  toUInt32(countIf(is_failure = 1)) AS failed_runs
FROM spells
WHERE spell > 0
GROUP BY source, workflow_id, spell;

-- Red time per week: the part of each red spell (failed_at until recovered_at, or now while
-- still failing) that falls in the week.
CREATE OR REPLACE VIEW red_time_weekly AS
SELECT week, source, workflow_id, toUInt64(sum(ms)) AS red_ms
FROM (
  SELECT source, workflow_id, failed_at AS s, coalesce(recovered_at, now64(3)) AS e,
         toMonday(failed_at, 'UTC') + 7 * arrayJoin(range(toUInt32(intDiv(dateDiff('day', toMonday(failed_at, 'UTC'), toMonday(e, 'UTC')), 7) + 1))) AS week,
         greatest(dateDiff('millisecond', greatest(s, toDateTime64(week, 3, 'UTC')), least(e, toDateTime64(week + 7, 3, 'UTC'))), 0) AS ms
  FROM recoveries
  WHERE coalesce(recovered_at, now64(3)) > failed_at
)
GROUP BY week, source, workflow_id;

CREATE OR REPLACE VIEW failure_rates_weekly AS
SELECT b.week AS week, b.source AS source, b.workflow_id AS workflow_id, b.provider AS provider,
       b.workflow_name AS workflow_name, b.runs AS runs, b.succeeded AS succeeded, b.failed AS failed,
       b.timed_out AS timed_out, b.cancelled AS cancelled, b.continued AS continued, b.failure_rate AS failure_rate,
       b.p50_duration_ms AS p50_duration_ms, b.p95_duration_ms AS p95_duration_ms, b.first_attempts AS first_attempts, b.first_attempt_failures AS first_attempt_failures,
       b.rescued_by_retry AS rescued_by_retry, b.first_attempt_failure_rate AS first_attempt_failure_rate,
       m.mttr_ms AS mttr_ms,
       toUInt64(red.red_ms) AS red_ms
FROM (
  SELECT
    week,
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
    if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[2]) AS p95_duration_ms,
    toUInt32(countIf(attempt = 1 AND is_decided = 1)) AS first_attempts,
    toUInt32(countIf(attempt = 1 AND is_failure = 1)) AS first_attempt_failures,
    toUInt32(sum(rescued_by_retry)) AS rescued_by_retry,
    if(first_attempts = 0, NULL, first_attempt_failures / first_attempts) AS first_attempt_failure_rate
  FROM terminal_runs
  GROUP BY week, source, workflow_id
) AS b
LEFT JOIN (
  SELECT toMonday(assumeNotNull(recovered_at), 'UTC') AS week, source, workflow_id, toNullable(avg(recovery_ms)) AS mttr_ms
  FROM recoveries WHERE recovered_at IS NOT NULL GROUP BY week, source, workflow_id
) AS m ON m.week = b.week AND m.source = b.source AND m.workflow_id = b.workflow_id
LEFT JOIN red_time_weekly AS red ON red.week = b.week AND red.source = b.source AND red.workflow_id = b.workflow_id
SETTINGS join_use_nulls = 0;

-- Steps: a step row shows its last attempt, so attempt > 1 means the first one failed.
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
  if(count(s.duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(s.duration_ms)[2]) AS p95_duration_ms,
  toUInt32(countIf(s.status IN ('succeeded', 'failed', 'timed_out') AND (s.attempt > 1 OR s.status IN ('failed', 'timed_out')))) AS first_attempt_failures,
  toUInt32(countIf(s.status = 'succeeded' AND s.attempt > 1)) AS rescued_by_retry,
  if(succeeded + failed + timed_out = 0, NULL, first_attempt_failures / (succeeded + failed + timed_out)) AS first_attempt_failure_rate
FROM steps AS s
INNER JOIN (SELECT source, run_id, workflow_id, workflow_name, is_test FROM runs) AS r
  ON s.source = r.source AND s.run_id = r.run_id
WHERE s.status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'continued')
  AND s.finished_at IS NOT NULL
  AND r.is_test = 0
GROUP BY day, source, workflow_id, step_ref;

-- Failure reasons per week. first_seen_at: the signature's first failure in this workflow
-- (any week); is_new: no failure with it in the four weeks before this one.
CREATE OR REPLACE VIEW failure_signatures_weekly AS
WITH
  w AS (
    SELECT week, source, workflow_id, error_signature,
           any(provider) AS provider,
           argMax(workflow_name, assumeNotNull(finished_at)) AS workflow_name,
           runsync_scrub_error(argMax(error, assumeNotNull(finished_at))) AS sample_error,
           toUInt32(count()) AS runs,
           min(assumeNotNull(finished_at)) AS week_first_at
    FROM terminal_runs
    WHERE is_failure = 1
    GROUP BY week, source, workflow_id, error_signature
  ),
  h AS (
    SELECT source, workflow_id, error_signature, groupArray(week) AS weeks, min(week_first_at) AS first_seen_at
    FROM w GROUP BY source, workflow_id, error_signature
  )
SELECT w.week AS week, w.source AS source, w.workflow_id AS workflow_id, w.error_signature AS error_signature,
       w.provider AS provider, w.workflow_name AS workflow_name, w.sample_error AS sample_error, w.runs AS runs,
       h.first_seen_at AS first_seen_at,
       toUInt8(NOT arrayExists(x -> x < w.week AND x >= w.week - 28, h.weeks)) AS is_new
FROM w
INNER JOIN h ON h.source = w.source AND h.workflow_id = w.workflow_id AND h.error_signature = w.error_signature;
