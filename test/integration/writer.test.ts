/**
 * The row writer against the real chDB engine, with the client wrapped so inserts are slow
 * or fail half-way (the engine itself is real; only the timing and the failure are staged).
 * Many callers add rows at once while inserts are in flight: every row lands exactly once,
 * or the failure surfaces and nothing that did not land is counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { select } from '../../warehouse/queries.js';
import { RowWriter, type Unit } from '../../warehouse/writer.js';

// ---- the writer's API, in one place (add(table, row), flush(), written) ----------------
type Table = 'quarantine' | 'run_versions';
interface WriterUnderTest {
  add(table: Table, row: Record<string, unknown>): Promise<void>;
  flush(): Promise<void>;
  /** Rows the writer says it wrote. */
  written(): number;
}
function makeWriter(client: ClickHouseClient, batchRows: number): WriterUnderTest {
  const w = new RowWriter(client, batchRows);
  // The rows here are built loosely on purpose (only the columns the test needs): one unit each.
  return { add: (t, r) => w.write({ [t]: [r] } as Unit), flush: () => w.flush(), written: () => w.written };
}
// -----------------------------------------------------------------------------------------

let dir: string;
let wh: Warehouse;

interface Staging {
  /** Real ms each insert waits before reaching the engine. */
  delayMs: number;
  /** 1-based insert calls that write the first half of their rows and then fail. */
  failHalfway?: Set<number>;
}

/** The real client, with inserts delayed and, where asked, cut half-way. */
function staged(client: ClickHouseClient, s: Staging): { client: ClickHouseClient; inserts: () => number } {
  let n = 0;
  const proxy = new Proxy(client, {
    get(target, key) {
      if (key === 'insert') {
        return async (params: { table: string; values: Record<string, unknown>[]; format: string }) => {
          const call = ++n;
          // What the caller handed over is what this insert sends: copy it now, as a client
          // that serialises the values up front would.
          const values = [...params.values];
          await sleep(s.delayMs);
          if (s.failHalfway?.has(call)) {
            const half = values.slice(0, Math.floor(values.length / 2));
            if (half.length) await target.insert({ ...params, values: half } as never);
            throw new Error(`connection reset after ${half.length} of ${values.length} rows (staged)`);
          }
          return target.insert({ ...params, values } as never);
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { client: proxy, inserts: () => n };
}

const qRow = (tag: string, key: string) => ({
  source: tag,
  received_at: '2026-12-01 00:00:00.000',
  provider: 'strait',
  sync_id: tag,
  endpoint: 'writer-test',
  record_key: key,
  severity: 'warning',
  reason: 'writer test row',
  payload: '',
});

const runRow = (tag: string, key: string) => ({ source: tag, run_id: key, provider: 'strait', workflow_id: 'wf', status: 'succeeded', provider_status: 'completed', is_terminal: 1, sync_id: tag, version: 1 });

/** Quarantine is a plain MergeTree: a row inserted twice stays twice. */
async function landedQuarantine(tag: string): Promise<Map<string, number>> {
  const rows = await select<{ k: string; c: string }>(wh.client, `SELECT record_key AS k, count() AS c FROM quarantine WHERE source = {s:String} GROUP BY k`, { s: tag });
  return new Map(rows.map((r) => [r.k, Number(r.c)]));
}

/** Callers adding rows at the same time, each awaiting its own add() as the engine's runs do. */
async function concurrentAdds(w: WriterUnderTest, table: Table, tag: string, callers: number, perCaller: number, make: (tag: string, key: string) => Record<string, unknown>): Promise<{ keys: string[]; errors: Error[] }> {
  const keys: string[] = [];
  const errors: Error[] = [];
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; i < perCaller; i++) {
        const key = `${c}-${i}`;
        keys.push(key);
        try {
          await w.add(table, make(tag, key));
        } catch (e) {
          errors.push(e as Error);
        }
        // Yield now and then so callers interleave with inserts in flight.
        if (i % 7 === 0) await sleep(0);
      }
    }),
  );
  try {
    await w.flush();
  } catch (e) {
    errors.push(e as Error);
  }
  return { keys, errors };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runsync-writer-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
});

afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RowWriter on the real engine', () => {
  it('slow inserts, 16 concurrent writers: every row lands exactly once and the count written is the count landed', async () => {
    const tag = 'slow-16';
    const s = staged(wh.client, { delayMs: 40 });
    const w = makeWriter(s.client, 50);
    const { keys, errors } = await concurrentAdds(w, 'quarantine', tag, 16, 200, qRow);
    expect(errors.map((e) => e.message)).toEqual([]);
    const landed = await landedQuarantine(tag);
    const lost = keys.filter((k) => !landed.has(k));
    const twice = [...landed].filter(([, c]) => c > 1).map(([k]) => k);
    expect({ rows: keys.length, lost: lost.length, duplicated: twice.length, written: w.written() }).toEqual({ rows: 3200, lost: 0, duplicated: 0, written: 3200 });
    expect(s.inserts()).toBeGreaterThan(1);
  });

  it('flushes called while another flush is in flight neither drop nor repeat rows', async () => {
    const tag = 'overlap';
    const s = staged(wh.client, { delayMs: 60 });
    const w = makeWriter(s.client, 1_000_000);
    const keys: string[] = [];
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 600; i++) {
      keys.push(String(i));
      await w.add('quarantine', qRow(tag, String(i)));
      if (i % 40 === 39) flushes.push(w.flush());
    }
    flushes.push(w.flush());
    await Promise.all(flushes);
    const landed = await landedQuarantine(tag);
    expect({ lost: keys.filter((k) => !landed.has(k)).length, duplicated: [...landed.values()].filter((c) => c > 1).length, written: w.written() }).toEqual({ lost: 0, duplicated: 0, written: 600 });
  });

  it('an insert that fails half-way: every row lands once, or the failure surfaces and no row that did not land is counted', async () => {
    const tag = 'halfway';
    const s = staged(wh.client, { delayMs: 20, failHalfway: new Set([3]) });
    const w = makeWriter(s.client, 100);
    const { keys, errors } = await concurrentAdds(w, 'run_versions', tag, 8, 100, runRow);
    const rows = await select<{ run_id: string }>(wh.client, `SELECT run_id FROM run_versions FINAL WHERE source = {s:String}`, { s: tag });
    const landed = new Set(rows.map((r) => r.run_id));
    const lost = keys.filter((k) => !landed.has(k));
    if (errors.length === 0) {
      // The writer recovered on its own: then nothing may be missing.
      expect({ lost: lost.length, written: w.written() }).toEqual({ lost: 0, written: keys.length });
    } else {
      // The failure surfaced: what the writer counts as written must have landed.
      expect(errors[0].message).toMatch(/run_versions|insert/);
      expect(w.written()).toBeLessThanOrEqual(landed.size);
    }
    expect(rows.length).toBe(landed.size);
  });
});
