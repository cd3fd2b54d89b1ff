import { expect } from 'vitest';
import type { Harness } from './harness.js';

/**
 * Greps every table of the warehouse database, every column, for each secret value:
 * none may appear anywhere (runs, raw payloads, events, quarantine, sync records, …).
 */
export async function expectNoSecretsInWarehouse(h: Harness, secrets: string[]): Promise<void> {
  expect(secrets.length).toBeGreaterThan(0);
  const tables = await h.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = currentDatabase() AND NOT is_temporary AND engine NOT IN ('View', 'MaterializedView')`);
  expect(tables.length).toBeGreaterThan(5);
  for (const { name } of tables) {
    for (const secret of secrets) {
      const [row] = await h.query<{ c: string }>(`SELECT count() AS c FROM \`${name}\` WHERE position(toString(tuple(*)), {s:String}) > 0`, { s: secret });
      expect(Number(row.c), `secret ${secret.slice(0, 6)}… found in table ${name}`).toBe(0);
    }
  }
}
