/**
 * What each alert rule finds true now, read from the warehouse's relations (docs/metrics.md).
 * A finding is keyed, so a condition that stays true is the same alert from one evaluation
 * to the next.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { AlertRule } from '../config/schema.js';
import { parseDuration, toCh } from '../core/time.js';

export interface Finding {
  alert: string;
  /** What the alert is about: `source/workflow`, `source/run`, `source/workflow/signature`, `source`. */
  key: string;
  source: string;
  workflow_id: string;
  message: string;
}

/** `*` matches any run of characters; everything else literally. */
export function matches(patterns: string[], value: string): boolean {
  return patterns.some((p) => new RegExp(`^${p.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value));
}

async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  return (await client.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const mins = (ms: number) => `${Math.round(ms / 60_000)} min`;

export async function evaluateRule(client: ClickHouseClient, rule: AlertRule, now: number): Promise<Finding[]> {
  const at = toCh(now);
  let found: Omit<Finding, 'alert'>[] = [];
  switch (rule.type) {
    case 'failure_rate': {
      const r = await rows<{ source: string; workflow_id: string; name: string; failures: number; decided: number }>(
        client,
        `SELECT source, workflow_id, argMax(workflow_name, finished_at) AS name, toUInt32(sum(is_failure)) AS failures, toUInt32(sum(is_decided)) AS decided
         FROM terminal_runs WHERE finished_at >= {from:DateTime64(3,'UTC')} AND finished_at < {now:DateTime64(3,'UTC')}
         GROUP BY source, workflow_id HAVING decided >= {min:UInt32} AND failures / decided >= {t:Float64}`,
        { from: toCh(now - parseDuration(rule.window)), now: at, min: rule.minRuns, t: rule.threshold },
      );
      found = r.map((x) => ({ key: `${x.source}/${x.workflow_id}`, source: x.source, workflow_id: x.workflow_id, message: `${x.name || x.workflow_id} (${x.source}): failure rate ${pct(x.failures / x.decided)} over the last ${rule.window} (${x.failures} of ${x.decided} runs), threshold ${pct(rule.threshold)}` }));
      break;
    }
    case 'new_signature': {
      const r = await rows<{ source: string; workflow_id: string; name: string; sig: string; sample: string; n: number }>(
        client,
        `SELECT source, workflow_id, argMax(workflow_name, finished_at) AS name, error_signature AS sig, runsync_scrub_error(argMax(error, finished_at)) AS sample, toUInt32(countIf(finished_at >= {from:DateTime64(3,'UTC')})) AS n
         FROM terminal_runs WHERE is_failure = 1 AND finished_at >= {before:DateTime64(3,'UTC')} AND finished_at < {now:DateTime64(3,'UTC')}
         GROUP BY source, workflow_id, error_signature HAVING min(finished_at) >= {from:DateTime64(3,'UTC')}`,
        { from: toCh(now - parseDuration(rule.window)), before: toCh(now - parseDuration(rule.window) - 28 * 86_400_000), now: at },
      );
      found = r.map((x) => ({ key: `${x.source}/${x.workflow_id}/${x.sig}`, source: x.source, workflow_id: x.workflow_id, message: `${x.name || x.workflow_id} (${x.source}): new failure reason (${x.n} run${x.n === 1 ? '' : 's'}): ${x.sample}` }));
      break;
    }
    case 'p95_regression': {
      const r = await rows<{ source: string; workflow_id: string; name: string; cur: number; prev: number }>(
        client,
        `SELECT source, workflow_id, argMax(workflow_name, finished_at) AS name,
                quantileExactInclusiveIf(0.95)(duration_ms, finished_at >= {from:DateTime64(3,'UTC')}) AS cur,
                quantileExactInclusiveIf(0.95)(duration_ms, finished_at < {from:DateTime64(3,'UTC')}) AS prev
         FROM terminal_runs WHERE duration_ms IS NOT NULL AND finished_at >= {before:DateTime64(3,'UTC')} AND finished_at < {now:DateTime64(3,'UTC')}
         GROUP BY source, workflow_id
         HAVING countIf(finished_at >= {from:DateTime64(3,'UTC')}) >= {min:UInt32} AND countIf(finished_at < {from:DateTime64(3,'UTC')}) >= {min:UInt32} AND cur > {f:Float64} * prev`,
        { from: toCh(now - parseDuration(rule.window)), before: toCh(now - parseDuration(rule.window) - 28 * 86_400_000), now: at, min: rule.minRuns, f: rule.factor },
      );
      found = r.map((x) => ({ key: `${x.source}/${x.workflow_id}`, source: x.source, workflow_id: x.workflow_id, message: `${x.name || x.workflow_id} (${x.source}): p95 duration ${mins(x.cur)} over the last ${rule.window}, ${(x.cur / x.prev).toFixed(1)}× the ${mins(x.prev)} of the four weeks before` }));
      break;
    }
    case 'stuck_run': {
      const r = await rows<{ source: string; workflow_id: string; name: string; run_id: string; open_ms: number; limit_ms: number }>(
        client,
        `SELECT o.source AS source, o.workflow_id AS workflow_id, o.workflow_name AS name, o.run_id AS run_id,
                dateDiff('millisecond', o.since, {now:DateTime64(3,'UTC')}) AS open_ms,
                greatest({floor:Float64}, {m:Float64} * coalesce(p.p95, 0)) AS limit_ms
         FROM (SELECT source, workflow_id, workflow_name, run_id, coalesce(started_at, created_at, first_seen_at) AS since FROM runs WHERE is_terminal = 0 AND is_test = 0) AS o
         LEFT JOIN (SELECT source, workflow_id, quantileExactInclusive(0.95)(duration_ms) AS p95 FROM terminal_runs
                    WHERE duration_ms IS NOT NULL AND finished_at >= {before:DateTime64(3,'UTC')} GROUP BY source, workflow_id) AS p
           ON p.source = o.source AND p.workflow_id = o.workflow_id
         WHERE open_ms > limit_ms`,
        { now: at, floor: parseDuration(rule.floor), m: rule.multiple, before: toCh(now - 28 * 86_400_000) },
      );
      found = r.map((x) => ({ key: `${x.source}/${x.run_id}`, source: x.source, workflow_id: x.workflow_id, message: `${x.name || x.workflow_id} (${x.source}): run ${x.run_id} open for ${mins(x.open_ms)}, limit ${mins(x.limit_ms)}` }));
      break;
    }
    case 'stale_source': {
      const r = await rows<{ source: string; last: string | null }>(
        client,
        `SELECT source, last_success_at AS last FROM sync_health
         WHERE last_success_at IS NULL OR last_success_at < {limit:DateTime64(3,'UTC')}`,
        { limit: toCh(now - parseDuration(rule.maxAge)) },
      );
      found = r.map((x) => ({ key: x.source, source: x.source, workflow_id: '', message: `${x.source}: ${x.last ? `last successful sync at ${x.last.replace(' ', 'T')}Z` : 'no successful sync'}, older than ${rule.maxAge}` }));
      break;
    }
  }
  return found
    .filter((f) => matches(rule.sources, f.source) && (rule.type === 'stale_source' || matches(rule.workflows, f.workflow_id)))
    .map((f) => ({ ...f, alert: rule.name }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}
