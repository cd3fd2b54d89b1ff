-- The analyst-facing relations of the warehouse contract: one row per key, latest version.

CREATE OR REPLACE VIEW runs AS
SELECT source, run_id, provider, workflow_id, workflow_name, workflow_version, status, provider_status,
       is_terminal, created_at, started_at, finished_at, updated_at, queue_ms, duration_ms, total_ms,
       trigger, triggered_by, parent_run_id, retry_of_run_id, error, cost, is_test, attributes,
       first_seen_at, synced_at, fingerprint, sync_id
FROM run_versions FINAL;

CREATE OR REPLACE VIEW steps AS
SELECT source, run_id, step_id, provider, step_ref, attempt, status, provider_status, is_terminal,
       started_at, finished_at, duration_ms, error, attributes, synced_at
FROM step_versions FINAL;

CREATE OR REPLACE VIEW events AS
SELECT source, run_id, event_id, provider, seq, event_type, occurred_at, step_ref, message, data, synced_at
FROM event_versions FINAL;

CREATE OR REPLACE VIEW links AS
SELECT source, run_id, url, provider, label, icon, added_at, synced_at
FROM link_versions FINAL;

CREATE OR REPLACE VIEW sync_runs AS
SELECT source, sync_id, provider, started_at, finished_at, status, pages, api_calls, runs_new, runs_updated,
       rows_written, retries, rate_limited, quarantined, error, watermark_before, watermark_after
FROM sync_run_versions FINAL;
