/**
 * Benchmarks: figures, not assertions. A full backfill and an incremental sync of a
 * large Strait simulator through the real Temporal dev server and chDB, plus raw
 * insert throughput of the row writer. Usage: npm run bench [-- --runs 5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startStraitSimulator } from '../simulators/strait.js';
import { parseConfig } from '../config/load.js';
import { startServices } from '../runtime/services.js';
import { syncOnce } from '../runtime/run-sync.js';
import { RowWriter } from '../warehouse/writer.js';
import { nextVersion } from '../warehouse/version.js';
import { setLogLevel } from '../core/log.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5000' }, rows: { type: 'string', default: '200000' } } });
const RUNS = Number(values.runs);
const ROWS = Number(values.rows);
setLogLevel('warn');

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;

const dir = mkdtempSync(join(tmpdir(), 'runsync-bench-'));
const sim = await startStraitSimulator({ seed: 3, initialRuns: RUNS, runsPerHour: 200, start: Date.now() - 3_600_000 });
process.env.BENCH_STRAIT_TOKEN = sim.token;
const config = parseConfig({
  dataDir: dir,
  sources: [{ name: 'bench', provider: 'strait', baseUrl: sim.url, tokenEnv: 'BENCH_STRAIT_TOKEN', rateLimit: 5000, backfill: '365d', settle: '0s', options: { projectId: 'proj_demo' } }],
});
const services = await startServices({ config, dataDir: dir, temporalPort: 0 });
try {
  const rssBefore = process.memoryUsage().rss;
  let t = performance.now();
  const [full] = await syncOnce(services.client, config, services.temporal.taskQueue);
  const fullMs = performance.now() - t;
  if (!full.ok) throw new Error(full.error);
  const c = full.counts!;
  console.log(`backfill       ${c.runs_new} runs, ${c.rows_written} rows, ${c.api_calls} API calls in ${(fullMs / 1000).toFixed(1)} s`);
  console.log(`               ${(c.runs_new / (fullMs / 1000)).toFixed(0)} runs/s, ${(c.rows_written / (fullMs / 1000)).toFixed(0)} rows/s, ${(c.api_calls / (fullMs / 1000)).toFixed(0)} requests/s`);

  sim.advance(30 * 60_000);
  sim.clearRequests();
  t = performance.now();
  const [inc] = await syncOnce(services.client, config, services.temporal.taskQueue);
  const incMs = performance.now() - t;
  if (!inc.ok) throw new Error(inc.error);
  console.log(`incremental    ${inc.counts!.runs_new} new, ${inc.counts!.runs_updated} updated, ${inc.counts!.api_calls} API calls in ${(incMs / 1000).toFixed(2)} s`);

  const writer = new RowWriter(services.warehouse.client, 50_000);
  t = performance.now();
  for (let i = 0; i < ROWS; i++) {
    await writer.add('event_versions', {
      source: 'bench-insert',
      run_id: `r${i % 5000}`,
      event_id: `e${i}`,
      provider: 'strait',
      seq: i,
      event_type: 'POST_MESSAGE',
      occurred_at: '2026-11-20 10:00:00.000',
      step_ref: 's',
      message: 'hello world',
      data: '{}',
      synced_at: '2026-11-20 10:00:00.000',
      version: nextVersion(),
    });
  }
  await writer.flush();
  const insMs = performance.now() - t;
  console.log(`insert         ${ROWS} event rows in ${(insMs / 1000).toFixed(2)} s: ${(ROWS / (insMs / 1000)).toFixed(0)} rows/s`);

  t = performance.now();
  await (await services.warehouse.client.query({ query: 'SELECT source, status, count() FROM runs GROUP BY ALL', format: 'JSONEachRow' })).json();
  console.log(`query          runs view (FINAL) grouped in ${(performance.now() - t).toFixed(0)} ms`);
  console.log(`memory         rss before sync ${mb(rssBefore)}, peak ${mb(peakRss)} (worker, chDB and simulator in one process)`);
} finally {
  clearInterval(sampler);
  await services.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
