/**
 * The long-running service's case, in a process of its own: start-up (warehouse, Temporal
 * dev server, worker) is paid first, then timed on their own: the first source's full sync
 * (the process's first), the second source's full sync (a later one, as a scheduled sync in a
 * service that has synced before meets it: code compiled, caches warm), the first source's
 * no-change sync; then the row writer's raw insert throughput. Prints one JSON line a phase
 * and waits for a message between phases (the benchmark reads the simulators' logs).
 * Usage: node --import tsx bench/service-sync.ts <config> <dataDir> <insertRows> <first source> <later source>
 */
import { readFileSync, readdirSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { startServices } from '../runtime/services.js';
import { syncOnce } from '../runtime/run-sync.js';
import { RowWriter } from '../warehouse/writer.js';
import { nextVersion } from '../warehouse/version.js';
import { setLogLevel } from '../core/log.js';

const [configPath, dataDir, insertRows, firstSource, laterSource] = process.argv.slice(2);
setLogLevel('warn');

/** CPU (ms) of this process's descendants: the dev server it started. */
function childrenCpuMs(): number {
  const kids = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
      cpu.set(Number(d), (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // ended while we looked
    }
  }
  let sum = 0;
  const queue = [...(kids.get(process.pid) ?? [])];
  while (queue.length) {
    const p = queue.shift()!;
    sum += cpu.get(p) ?? 0;
    queue.push(...(kids.get(p) ?? []));
  }
  return sum;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000 + childrenCpuMs();
};

const { config } = loadConfig(configPath);
let t = performance.now();
const services = await startServices({ config, dataDir });
const startupMs = performance.now() - t;
try {
  const timed = async (source: string) => {
    const c0 = cpuNow();
    const t0 = performance.now();
    const outcomes = await syncOnce(services.client, config, services.temporal.taskQueue, [source], { progress: false });
    const wallMs = performance.now() - t0;
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length) throw new Error(`sync failed: ${failed.map((o) => `${o.source}: ${o.error}`).join('; ')}`);
    return { wallMs, cpuMs: cpuNow() - c0, rows: outcomes.reduce((a, o) => a + (o.counts?.rows_written ?? 0), 0) };
  };
  // Over IPC: the embedded engine takes standard input away (warehouse/client.ts).
  const next = () => new Promise<void>((res) => process.once('message', () => res()));
  const full = await timed(firstSource);
  process.stdout.write(JSON.stringify({ phase: 'full', startupMs, ...full }) + '\n');
  await next();
  const later = await timed(laterSource);
  process.stdout.write(JSON.stringify({ phase: 'later', ...later }) + '\n');
  await next();
  const again = await timed(firstSource);
  process.stdout.write(JSON.stringify({ phase: 'again', ...again }) + '\n');

  const rows = Number(insertRows);
  const writer = new RowWriter(services.warehouse.client, 50_000);
  t = performance.now();
  for (let i = 0; i < rows; i++) {
    await writer.add('event_versions', {
      source: 'bench-insert', run_id: `r${i % 5000}`, event_id: `e${i}`, provider: 'strait', seq: i,
      event_type: 'POST_MESSAGE', occurred_at: '2026-11-20 10:00:00.000', step_ref: 's', message: 'hello world',
      data: '{}', synced_at: '2026-11-20 10:00:00.000', version: nextVersion(),
    });
  }
  await writer.flush();
  process.stdout.write(JSON.stringify({ phase: 'insert', rows, wallMs: performance.now() - t }) + '\n');
} finally {
  await services.close();
}
process.exit(0);
