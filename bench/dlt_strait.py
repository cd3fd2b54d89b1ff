"""The same Strait job with dlt, for comparison: the runs list and each run's step runs
(child resource) into duckdb, dlt's embedded default destination, with dlt's default
write disposition. Prints one JSON line with the rows loaded per table.
Usage: python bench/dlt_strait.py <base_url> <project_id> <work_dir>   (token in STRAIT_TOKEN)
"""
import json
import os
import sys

import dlt
from dlt.sources.rest_api import rest_api_source

base_url, project_id, work_dir = sys.argv[1:4]
cursor = {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"}
source = rest_api_source({
    "client": {
        "base_url": base_url.rstrip("/") + "/",
        "auth": {"type": "bearer", "token": os.environ["STRAIT_TOKEN"]},
    },
    "resource_defaults": {"endpoint": {"data_selector": "data", "paginator": cursor}},
    "resources": [
        {"name": "runs", "endpoint": {"path": "v1/workflow-runs", "params": {"project_id": project_id, "limit": 100}}},
        {
            "name": "steps",
            "endpoint": {
                "path": "v1/workflow-runs/{run_id}/steps",
                "params": {"run_id": {"type": "resolve", "resource": "runs", "field": "id"}, "limit": 100},
            },
        },
    ],
})
pipeline = dlt.pipeline(
    pipeline_name="strait_bench",
    pipelines_dir=os.path.join(work_dir, "pipelines"),
    destination=dlt.destinations.duckdb(os.path.join(work_dir, "bench.duckdb")),
    dataset_name="strait",
)
pipeline.run(source)
counts = pipeline.last_trace.last_normalize_info.row_counts
print(json.dumps({"rows": {k: v for k, v in counts.items() if not k.startswith("_dlt")}}))
