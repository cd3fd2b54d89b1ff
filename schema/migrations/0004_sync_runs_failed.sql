-- Runs a sync could not fetch (quarantined or failed after retries): a sync that
-- "succeeded" with failed runs is not complete, and readers should see it.
ALTER TABLE sync_run_versions ADD COLUMN IF NOT EXISTS runs_failed UInt32 DEFAULT 0 AFTER runs_updated;

CREATE OR REPLACE VIEW sync_runs AS
SELECT source, sync_id, provider, started_at, finished_at, status, pages, api_calls, runs_new, runs_updated, runs_failed,
       rows_written, retries, rate_limited, quarantined, error, watermark_before, watermark_after
FROM sync_run_versions FINAL;
