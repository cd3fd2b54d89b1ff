/**
 * Kill test: a backfill of 10 000 runs across the five providers; the real CLI process
 * (`runsync sync --once`, joined to the test's Temporal server) SIGKILLed three times at
 * seeded random points and started again. The final warehouse equals the truth, no key is
 * duplicated, no watermark is ever ahead of the rows it covers, nothing of a killed run is
 * left running. `npm run soak` runs the same at a larger scale.
 */
import { describe, expect, inject, it } from 'vitest';
import { runKillScenario } from '../helpers/scenarios.js';

const TOTAL = Number(process.env.RUNSYNC_KILL_RUNS ?? 10_000);

describe('killed and restarted', () => {
  it(`a backfill of ${TOTAL} runs, SIGKILLed three times: the warehouse equals the truth, nothing duplicated, nothing left running`, async () => {
    const r = await runKillScenario({ total: TOTAL, kills: 3, seed: 4242, temporalAddress: inject('temporalAddress'), log: (m) => process.stderr.write(`[kill] ${m}\n`) });
    expect(r.expected).toBeGreaterThanOrEqual(Math.min(TOTAL, 10_000) * 0.95);
    // The kills happened mid-sync, not after it had finished.
    expect(r.kills.map((k) => k.killedAfterRequests !== null), JSON.stringify(r.kills.map((k) => k.exit))).toEqual([true, true, true]);
    expect(r.kills.flatMap((k) => k.leftovers), 'processes of killed runs still alive').toEqual([]);
    expect(r.kills.flatMap((k) => k.uncovered).slice(0, 20), 'runs at or below a watermark missing from runs').toEqual([]);
    expect(r.finalExit).toBe('exit 0');
    expect(r.details.join('\n')).toBe(r.details.map((d) => d.replace(/^(\w+): expected (\d+).*$/, '$1: expected $2, landed $2, lost 0, duplicated 0, extra 0, differing 0, children lost 0, children duplicated 0')).join('\n'));
    expect({ lost: r.lost, duplicated: r.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 600_000);
});
