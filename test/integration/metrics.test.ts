/** Prometheus metrics: scraped over HTTP from a worker's metrics server and from `runsync serve` while syncs run. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { startSimHarness, type Harness } from '../helpers/harness.js';
import { registerWarehouseMetrics, startMetricsServer } from '../../core/metrics.js';
import { startServe } from '../../cli/commands/serve.js';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

const SOURCE = 'strait-metrics';
let sim: StraitSimulator;
let h: Harness;
let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;
let serve: Awaited<ReturnType<typeof startServe>>;

/** Prometheus text format → value by `name{labels}` as printed. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
async function scrape(url = metricsServer.url): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}
const host = () => new URL(sim.url).host;
const apiRequests = (m: Map<string, number>) => m.get(`runsync_api_requests_total{host="${host()}"}`) ?? 0;
const bySource = (m: Map<string, number>, name: string) => m.get(`${name}{source="${SOURCE}",provider="strait"}`) ?? 0;

let temporalMetrics = '';

beforeAll(async () => {
  // The SDK's own exporter (installed with the worker's runtime, once per process) on a free port.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  temporalMetrics = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((r) => probe.close(r));
  process.env.RUNSYNC_TEMPORAL_METRICS_ADDRESS = temporalMetrics;
  sim = await startStraitSimulator({ seed: 3, initialRuns: 400, runsPerHour: 30, start: Date.now() - 3_600_000 });
  h = await startSimHarness(sim, { name: SOURCE, options: { projectId: 'proj_demo' }, rateLimit: 150 });
  registerWarehouseMetrics(h.warehouse.client);
  metricsServer = await startMetricsServer(0, '127.0.0.1');
  serve = await startServe({ config: h.config, dataDir: h.config.dataDir, host: '127.0.0.1', port: 0, token: 'metrics-tok-9' });
});

afterAll(async () => {
  await serve?.close();
  await metricsServer?.close();
  await h?.close();
  await sim?.close();
});

describe('/metrics', () => {
  it('shows API requests counting up during a sync, and the sync totals and freshness after it', async () => {
    const before = await scrape();
    sim.clearRequests();
    let done = false;
    const sync = h.sync(SOURCE).finally(() => {
      done = true;
    });
    const during: number[] = [];
    while (!done) {
      during.push(apiRequests(await scrape()) - apiRequests(before));
      await new Promise((r) => setTimeout(r, 150));
    }
    const result = await sync;
    const after = await scrape();
    // Every request the simulator received was counted, as it went out.
    expect(apiRequests(after) - apiRequests(before)).toBe(sim.requests.length);
    expect(during.some((n) => n > 0 && n < sim.requests.length), `counts seen during the sync: ${during.join(',')}`).toBe(true);
    // The finished sync's totals equal what its record in the warehouse says.
    const [rec] = await h.query<{ api_calls: number; rows_written: number; runs_new: number; finished_at: string }>(
      'SELECT api_calls, toUInt32(rows_written) AS rows_written, runs_new, finished_at FROM sync_runs WHERE source = {s:String}',
      { s: SOURCE },
    );
    expect(bySource(after, 'runsync_sync_api_calls_total') - bySource(before, 'runsync_sync_api_calls_total')).toBe(Number(rec.api_calls));
    expect(Number(rec.api_calls)).toBe(sim.requests.length);
    expect(bySource(after, 'runsync_rows_written_total') - bySource(before, 'runsync_rows_written_total')).toBe(Number(rec.rows_written));
    expect(bySource(after, 'runsync_runs_new_total')).toBe(result.counts.runs_new);
    expect(result.counts.runs_new).toBe(sim.truth().runs.length);
    expect(after.get(`runsync_syncs_total{source="${SOURCE}",provider="strait",status="succeeded"}`)).toBe(1);
    expect(after.get(`runsync_sync_duration_seconds_count{source="${SOURCE}",provider="strait",status="succeeded"}`)).toBe(1);
    const finished = Date.parse(rec.finished_at.replace(' ', 'T') + 'Z') / 1000;
    expect(after.get(`runsync_source_last_success_timestamp_seconds{source="${SOURCE}"}`)).toBeCloseTo(finished, 2);
    const fresh = after.get(`runsync_source_freshness_seconds{source="${SOURCE}"}`)!;
    expect(fresh).toBeGreaterThanOrEqual(0);
    expect(fresh).toBeLessThan(60);
  });

  it('serve exposes the same metrics without a token, while its SQL still needs one', async () => {
    const m = await scrape(serve.url);
    expect(bySource(m, 'runsync_runs_new_total')).toBe(sim.truth().runs.length);
    expect(m.has(`runsync_source_freshness_seconds{source="${SOURCE}"}`)).toBe(true);
    expect((await fetch(`${serve.url}/?query=SELECT%201`)).status).toBe(401);
    const ok = await fetch(`${serve.url}/?query=SELECT%201`, { headers: { authorization: 'Bearer metrics-tok-9' } });
    expect([ok.status, await ok.text()]).toEqual([200, '1\n']);
  });

  it("exposes the Temporal SDK's runtime metrics on RUNSYNC_TEMPORAL_METRICS_ADDRESS", async () => {
    const m = parse(await (await fetch(`http://${temporalMetrics}/metrics`)).text());
    const completed = [...m].filter(([k]) => k.startsWith('temporal_workflow_completed') && k.includes(`task_queue="${h.taskQueue}"`));
    expect(completed.reduce((a, [, v]) => a + v, 0)).toBeGreaterThanOrEqual(1);
    expect([...m.keys()].some((k) => k.startsWith('temporal_activity_execution_latency'))).toBe(true);
  });

  it('answers /healthz for container health checks', async () => {
    const r = await fetch(`${metricsServer.url}/healthz`);
    expect([r.status, await r.text()]).toEqual([200, 'ok\n']);
  });
});
