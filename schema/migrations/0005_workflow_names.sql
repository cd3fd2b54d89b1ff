-- Workflow names learnt from a provider's workflow list (B3OS), for runs whose own
-- answers carry only the workflow's id: the `runs` view fills workflow_name from here.
CREATE TABLE IF NOT EXISTS workflow_names (
  source LowCardinality(String),
  workflow_id String,
  name String,
  seen_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, workflow_id);

CREATE OR REPLACE VIEW runs AS
SELECT r.source AS source, r.run_id AS run_id, r.provider AS provider, r.workflow_id AS workflow_id,
       if(r.workflow_name != '', r.workflow_name, w.name) AS workflow_name,
       r.workflow_version AS workflow_version, r.status AS status, r.provider_status AS provider_status,
       r.is_terminal AS is_terminal, r.created_at AS created_at, r.started_at AS started_at, r.finished_at AS finished_at,
       r.updated_at AS updated_at, r.queue_ms AS queue_ms, r.duration_ms AS duration_ms, r.total_ms AS total_ms,
       r.trigger AS trigger, r.triggered_by AS triggered_by, r.parent_run_id AS parent_run_id, r.retry_of_run_id AS retry_of_run_id,
       r.error AS error, r.cost AS cost, r.is_test AS is_test, r.attributes AS attributes,
       r.first_seen_at AS first_seen_at, r.synced_at AS synced_at, r.fingerprint AS fingerprint, r.sync_id AS sync_id
FROM run_versions AS r FINAL
LEFT JOIN (SELECT source, workflow_id, argMax(name, version) AS name FROM workflow_names GROUP BY source, workflow_id) AS w
  ON w.source = r.source AND w.workflow_id = r.workflow_id;
