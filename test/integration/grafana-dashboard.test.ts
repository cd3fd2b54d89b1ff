/**
 * Every panel query of the provisioned Grafana dashboard (deploy/grafana/dashboards/runsync.json),
 * with the ClickHouse plugin's macros expanded for a fixed time range, run as the read-only `bi`
 * user over HTTP, the way Grafana sends it, against a warehouse holding the analytics fixtures.
 * The server is a STAND-IN FOR A CLICKHOUSE SERVER (test/helpers/clickhouse-standin.ts): the
 * real engine behind ClickHouse's HTTP interface.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { startClickHouseStandin, type ClickHouseStandin } from '../helpers/clickhouse-standin.js';
import { migrate } from '../../warehouse/migrate.js';
import { buildFixtures, insertFixtures, NOW, W45 } from '../analytics/fixtures.js';

interface Panel {
  title: string;
  type: string;
  datasource: { type: string; uid: string };
  targets: { refId: string; rawSql: string; datasource: { uid: string } }[];
}
const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/dashboards/runsync.json', import.meta.url), 'utf8')) as { uid: string; panels: Panel[] };
const datasource = readFileSync(new URL('../../deploy/grafana/provisioning/datasources/clickhouse.yaml', import.meta.url), 'utf8');

/** What each panel must return: its columns, in order (time series panels start with `time`). */
const EXPECTED: Record<string, string[]> = {
  'Failure rate per day': ['time', 'source', 'failure_rate'],
  'Runs per day by status': ['time', 'succeeded', 'failed', 'timed_out', 'cancelled'],
  'Run duration p50 / p95': ['time', 'p50_s', 'p95_s'],
  'Most failing workflows': ['source', 'workflow_id', 'workflow_name', 'failures', 'runs', 'failure_rate'],
  'Sync retries and rate limits': ['time', 'retries', 'rate_limited', 'api_calls'],
  'Sync health': ['source', 'provider', 'last_sync_status', 'last_success_at', 'freshness_s', 'runs', 'open_runs', 'quarantined_1d', 'sync_failures_1d', 'last_error'],
  'Syncs by outcome': ['time', 'succeeded', 'failed'],
  'Step failure hot spots': ['source', 'workflow_id', 'step_ref', 'failed', 'runs'],
};

// The fixed range: the fixtures' three weeks, to the fixtures' "now".
const FROM = W45;
const TO = NOW;
const secs = (ms: number) => Math.floor(ms / 1000);
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The grafana-clickhouse-datasource macros, expanded as the plugin does, for FROM..TO and a 1 h interval. */
function expandMacros(sql: string): string {
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_, c) => `${c} >= toDateTime(${secs(FROM)}) AND ${c} <= toDateTime(${secs(TO)})`)
    .replace(/\$__dateFilter\(([^)]+)\)/g, (_, c) => `${c} >= toDate('${date(FROM)}') AND ${c} <= toDate('${date(TO)}')`)
    .replace(/\$__timeInterval\(([^)]+)\)/g, (_, c) => `toStartOfInterval(toDateTime(${c}), INTERVAL 3600 second)`)
    .replace(/\$__fromTime\b/g, `toDateTime(${secs(FROM)})`)
    .replace(/\$__toTime\b/g, `toDateTime(${secs(TO)})`)
    .replace(/\$__interval_s\b/g, '3600');
}

let dir: string;
let standin: ClickHouseStandin;
let bi: ClickHouseClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-grafana-'));
  standin = await startClickHouseStandin({ path: join(dir, 'server'), users: { runsync: { password: 'w' }, bi: { password: 'r', readonly: true } } });
  const writer = createClient({ url: standin.url, username: 'runsync', password: 'w' });
  await writer.command({ query: 'CREATE DATABASE runsync' });
  await writer.close();
  const wh = createClient({ url: standin.url, username: 'runsync', password: 'w', database: 'runsync' });
  await migrate(wh);
  await insertFixtures(wh, buildFixtures());
  await wh.close();
  // As the provisioned data source connects: user bi, default database runsync.
  bi = createClient({ url: standin.url, username: 'bi', password: 'r', database: 'runsync', compression: { response: false, request: false } });
});

afterAll(async () => {
  await bi?.close();
  await standin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the provisioned Grafana dashboard', () => {
  it('uses the provisioned ClickHouse data source in every panel', () => {
    expect(datasource).toMatch(/type: grafana-clickhouse-datasource/);
    const uid = /uid: (\S+)/.exec(datasource)![1];
    expect(dashboard.panels.map((p) => p.title).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const p of dashboard.panels) {
      expect(p.datasource.uid, p.title).toBe(uid);
      expect(p.targets.every((t) => t.datasource.uid === uid && t.rawSql.trim() !== '')).toBe(true);
    }
  });

  it.each(dashboard.panels.map((p) => [p.title, p] as const))('%s returns rows with the expected columns', async (title, panel) => {
    for (const target of panel.targets) {
      const sql = expandMacros(target.rawSql);
      expect(sql, 'a macro was left unexpanded').not.toMatch(/\$__/);
      const rs = await bi.query({ query: sql, format: 'JSONCompactEachRowWithNames' });
      const [names, ...rows] = await rs.json<unknown[]>();
      expect(names).toEqual(EXPECTED[title]);
      expect(rows.length, `${title}: no rows`).toBeGreaterThan(0);
      if (panel.type === 'timeseries') {
        // Time first, parseable, inside the range; every other column a number (or null).
        for (const r of rows) {
          const t = Date.parse(String(r[0]).replace(' ', 'T') + 'Z');
          expect(t).toBeGreaterThanOrEqual(FROM - 86_400_000);
          expect(t).toBeLessThanOrEqual(TO);
          for (let i = 1; i < r.length; i++) {
            if (names[i] === 'source') continue;
            expect(r[i] === null || typeof r[i] === 'number' || /^-?\d+(\.\d+)?$/.test(String(r[i])), `${names[i]} = ${r[i]}`).toBe(true);
          }
        }
      }
    }
  });
});
