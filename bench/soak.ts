/**
 * Soak: the fault matrix and the kill-and-restart backfill at a larger scale than the tests,
 * on the real CLI, a Temporal dev server of its own and chDB, against the five simulators.
 * Prints one table: scenario, faults injected, runs expected, landed, lost, duplicated, wall time.
 * Exits non-zero when a run was lost or duplicated.
 * Usage: npm run soak [-- --runs 30000 --fault-runs 10000 --rate 0.1 --kills 3 --seed 1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevServer } from '../runtime/temporal-server.js';
import { formatTable, runFaultScenario, runKillScenario, type ScenarioResult } from '../test/helpers/scenarios.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30000' },
    'fault-runs': { type: 'string', default: '10000' },
    rate: { type: 'string', default: '0.1' },
    kills: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
  },
});
const seed = Number(values.seed);
const log = (m: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);

const dir = mkdtempSync(join(tmpdir(), 'runsync-soak-'));
const server = await startDevServer({ dataDir: dir, log });
const rows: ScenarioResult[] = [];
let code = 0;
try {
  log(`fault matrix: ${values['fault-runs']} runs, ${Number(values.rate) * 100}% of requests faulty`);
  rows.push(await runFaultScenario({ total: Number(values['fault-runs']), rate: Number(values.rate), syncs: 3, seed, temporalAddress: server.address, log }));
  log(`kill: ${values.runs} runs, ${values.kills} kills`);
  rows.push(await runKillScenario({ total: Number(values.runs), kills: Number(values.kills), seed: seed + 100, temporalAddress: server.address, log }));
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(formatTable(rows) + '\n');
for (const r of rows) {
  if (!r.exact || r.lost || r.duplicated) {
    code = 1;
    process.stdout.write(`\n${r.scenario} (final sync: ${r.finalExit}):\n  ${r.details.join('\n  ')}\n`);
  }
  for (const [i, k] of r.kills.entries()) {
    if (k.leftovers.length || k.uncovered.length) {
      code = 1;
      process.stdout.write(`${r.scenario}, kill ${i + 1}: ${k.leftovers.length} processes left running, ${k.uncovered.length} runs at or below a watermark missing${k.uncovered.length ? ` (${k.uncovered.slice(0, 3).join(', ')})` : ''}\n`);
    }
  }
}
process.exit(code);
