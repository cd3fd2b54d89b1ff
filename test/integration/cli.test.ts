import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';

let sim: StraitSimulator;
let dir: string;

/** Runs the real CLI in its own process, joined to the test run's Temporal server. */
function runsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/runsync.js', ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  sim = await startStraitSimulator({ seed: 21, initialRuns: 40, runsPerHour: 0, start: Date.now() - 3_600_000 });
  dir = mkdtempSync(join(tmpdir(), 'runsync-cli-'));
  const source = { provider: 'strait', baseUrl: sim.url, options: { projectId: 'proj_demo' } };
  writeFileSync(
    join(dir, 'runsync.config.json'),
    JSON.stringify({
      temporal: { taskQueue: `cli-${Date.now()}` },
      sources: [
        { ...source, name: 'good', tokenEnv: 'GOOD_TOKEN' },
        { ...source, name: 'bad', tokenEnv: 'BAD_TOKEN' },
      ],
    }),
  );
});

afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runsync CLI', () => {
  it('refuses a bad config before anything starts, naming the field', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ sources: [{ name: 'x', provider: 'strait', baseUrl: 'http://x', tokenEnv: 'T', schedule: '61 * * * *', options: { projectId: 'p' } }] }));
    const r = await runsync(['sync', '--once', '--config', bad, '--data-dir', join(dir, 'unused')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sources\[0\]\.schedule: expected a cron expression/);
  });

  it('sync --once: one failing source does not stop the other; exit code says so', async () => {
    const secret = 'strait_not_a_valid_token_123';
    const r = await runsync(['sync', '--once', '--config', join(dir, 'runsync.config.json'), '--data-dir', join(dir, 'data')], {
      GOOD_TOKEN: sim.token,
      BAD_TOKEN: secret,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`good\\s+ok\\s+new=${sim.truth().runs.length} `));
    expect(r.stdout).toMatch(/bad\s+FAILED\s+.*HTTP 401/);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(existsSync(join(dir, 'data', 'runsync.log'))).toBe(true);
  });

  it('sql honours FORMAT, status reports each source', async () => {
    const sql = await runsync(['sql', 'SELECT source, count() FROM runs GROUP BY source ORDER BY source FORMAT TSV', '--data-dir', join(dir, 'data'), '--config', join(dir, 'runsync.config.json')]);
    expect(sql.code).toBe(0);
    expect(sql.stdout).toBe(`good\t${sim.truth().runs.length}\n`);
    const st = await runsync(['status', '--json', '--data-dir', join(dir, 'data'), '--config', join(dir, 'runsync.config.json')]);
    expect(st.code).toBe(0);
    const rows = JSON.parse(st.stdout);
    const good = rows.find((r: any) => r.source === 'good');
    const bad = rows.find((r: any) => r.source === 'bad');
    expect(good).toMatchObject({ lastStatus: 'succeeded', runs: sim.truth().runs.length });
    expect(good.watermark).not.toBeNull();
    expect(bad).toMatchObject({ lastStatus: 'failed', runs: 0, watermark: null });
    expect(bad.lastError).toMatch(/401/);
  });
});
