/**
 * What a provider definition produces from one run's API answers: plain values with
 * epoch-millisecond times. The engine adds source, provider, normalised status,
 * durations and versions when it turns them into warehouse rows.
 */
export interface RunRecord {
  run_id: string;
  workflow_id: string;
  workflow_name?: string;
  workflow_version?: string;
  provider_status: string;
  created_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number | null;
  trigger?: string;
  triggered_by?: string;
  parent_run_id?: string;
  retry_of_run_id?: string;
  error?: string;
  cost?: number | null;
  is_test?: boolean;
  attributes?: Record<string, string>;
}

export interface StepRecord {
  step_id: string;
  step_ref: string;
  attempt: number;
  provider_status: string;
  started_at: number | null;
  finished_at: number | null;
  error?: string;
  attributes?: Record<string, string>;
}

export interface EventRecord {
  event_id: string;
  seq: number;
  event_type: string;
  occurred_at: number | null;
  step_ref?: string;
  message?: string;
  /** Serialised as JSON text in the warehouse. */
  data?: unknown;
}

export interface LinkRecord {
  url: string;
  label?: string;
  icon?: string;
  added_at: number | null;
}

/** Everything one run contributes. `raw` is the (to be scrubbed) detail kept for re-derivation. */
export interface RunBundle {
  run: RunRecord;
  steps?: StepRecord[];
  events?: EventRecord[];
  links?: LinkRecord[];
  raw: unknown;
}
