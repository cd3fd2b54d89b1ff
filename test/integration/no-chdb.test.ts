/**
 * The production image leaves chDB out: runsync on a ClickHouse server must not need it.
 * The CLI runs in a child process where `chdb` cannot be resolved, against the STAND-IN FOR A
 * CLICKHOUSE SERVER (test/helpers/clickhouse-standin.ts, the real engine behind ClickHouse's HTTP interface).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from '@clickhouse/client';
import { startClickHouseStandin, type ClickHouseStandin } from '../helpers/clickhouse-standin.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let standin: ClickHouseStandin;

function runCli(args: string[], env: Record<string, string>, until?: RegExp): Promise<{ code: number | null; out: string; kill: () => void }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', join(ROOT, 'test/helpers/without-chdb.mjs'), join(ROOT, 'bin/runsync.js'), ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const kill = () => child.kill('SIGTERM');
    const onData = (b: Buffer) => {
      out += b.toString();
      if (until && until.test(out)) done({ code: null, out, kill });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', fail);
    child.on('exit', (code) => done({ code, out, kill }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-nochdb-'));
  standin = await startClickHouseStandin({ path: join(dir, 'server'), users: { runsync: { password: 'w1' }, bi: { password: 'b1', readonly: true } } });
  const admin = createClient({ url: standin.url, username: 'runsync', password: 'w1' });
  await admin.command({ query: 'CREATE DATABASE runsync' });
  await admin.close();
  writeFileSync(join(dir, 'runsync.config.json'), JSON.stringify({ server: { tokenEnv: 'RUNSYNC_TOKEN' } }));
});

afterAll(async () => {
  await standin?.close();
  rmSync(dir, { recursive: true, force: true });
});

const server = () => ({ CLICKHOUSE_URL: standin.url, CLICKHOUSE_USER: 'runsync', CLICKHOUSE_PASSWORD: 'w1', CLICKHOUSE_DATABASE: 'runsync' });

describe('without chDB installed', () => {
  it('embedded mode says what is missing, in one line', async () => {
    const r = await runCli(['migrate'], {});
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/the embedded ClickHouse \(npm package chdb\) is not installed here: set CLICKHOUSE_URL/);
  });

  it('migrate runs against a ClickHouse server', async () => {
    const r = await runCli(['migrate'], server());
    expect(r.out).toMatch(/applied \d+ migration\(s\)/);
    expect(r.code).toBe(0);
    expect(standin.requests.some((q) => /CREATE TABLE IF NOT EXISTS run_versions/.test(q.sql))).toBe(true);
  });

  it('serve forwards read-only SQL as the bi user and refuses a write', async () => {
    const r = await runCli(['serve', '--port', '0'], { ...server(), CLICKHOUSE_BI_USER: 'bi', CLICKHOUSE_BI_PASSWORD: 'b1', RUNSYNC_TOKEN: 'tok-nc' }, /serving (http:\/\/\S+)/);
    const url = /serving (http:\/\/\S+)/.exec(r.out)![1];
    try {
      const ch = createClient({ url, access_token: 'tok-nc', database: 'runsync' });
      const rows = await (await ch.query({ query: "SELECT toUInt32(count()) AS n FROM system.tables WHERE database = 'runsync' AND name = 'runs'", format: 'JSONEachRow' })).json<{ n: number }>();
      expect(rows).toEqual([{ n: 1 }]);
      expect(standin.requests.at(-1)).toMatchObject({ user: 'bi', params: { database: 'runsync' } });
      await expect(ch.command({ query: 'DROP TABLE run_versions' })).rejects.toMatchObject({ code: '164' });
      await ch.close();
    } finally {
      r.kill();
    }
  });
});
