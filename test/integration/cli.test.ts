import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';

let sim: StraitSimulator;
let dir: string;

/** Runs the real CLI in its own process, joined to the test run's Temporal server. */
function runsync(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/runsync.js', ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    // A pipe that carries this and stays open until the process ends, as a parent's may.
    if (stdin !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.write(stdin);
    }
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
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

  it('start refuses before anything starts: a bad --port, a configured endpoint token that is not set', async () => {
    const port = await runsync(['start', '--port', 'abc', '--config', join(dir, 'runsync.config.json'), '--data-dir', join(dir, 'unused')]);
    expect(port.code).toBe(2);
    expect(port.stderr).toBe('runsync start: --port must be a port number (0 for any free one), not "abc"\n');
    const cfg = JSON.parse(readFileSync(join(dir, 'runsync.config.json'), 'utf8'));
    const withToken = join(dir, 'with-token.json');
    writeFileSync(withToken, JSON.stringify({ ...cfg, server: { tokenEnv: 'RUNSYNC_HTTP_TOKEN_UNSET' } }));
    const r = await runsync(['start', '--config', withToken, '--data-dir', join(dir, 'unused')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('runsync start: server.tokenEnv names RUNSYNC_HTTP_TOKEN_UNSET, which is not set: export it, or remove server.tokenEnv to serve without a token\n');
    expect(existsSync(join(dir, 'unused', 'clickhouse'))).toBe(false);
    const unknown = await runsync(['check', '--source', 'nope', '--config', join(dir, 'runsync.config.json'), '--data-dir', join(dir, 'unused')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('runsync check: unknown source(s): nope (configured: good, bad)\n');
  });

  it('check: tokens set and accepted, per source', async () => {
    const r = await runsync(['check', '--config', join(dir, 'runsync.config.json'), '--data-dir', join(dir, 'unused')], { GOOD_TOKEN: sim.token, BAD_TOKEN: 'strait_refused_token_456' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/good\s+ok\s+token accepted, \d+ runs on the first page/);
    expect(r.stdout).toMatch(/bad\s+FAILED\s+token refused: .*HTTP 401/);
    expect(r.stdout).not.toContain('strait_refused_token_456');
    const missing = await runsync(['check', '--config', join(dir, 'runsync.config.json'), '--data-dir', join(dir, 'unused')], { GOOD_TOKEN: sim.token });
    expect(missing.stdout).toMatch(/bad\s+FAILED\s+.*BAD_TOKEN is not set/);
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
    // A wrong token is one line: no SDK stack frames, no task token.
    expect(r.stderr).not.toMatch(/^\s+at |taskToken|task_token/m);
    expect(r.stdout.split('\n').filter((l) => /^\s+bad\s/.test(l))).toHaveLength(1);
  });

  it('standard input is not read by the embedded engine: a pipe held open, with rows in it, neither holds nor changes a sync', async () => {
    const data = join(dir, 'stdin-data');
    const junk = 'hello\n{"source":"good","run_id":"from-stdin"}\n';
    const started = Date.now();
    const r = await runsync(['sync', '--once', '--source', 'good', '--config', join(dir, 'runsync.config.json'), '--data-dir', data], { GOOD_TOKEN: sim.token }, junk);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`good\\s+ok\\s+new=${sim.truth().runs.length} `));
    expect(Date.now() - started).toBeLessThan(60_000);
    const q = await runsync(['sql', "SELECT count(), countIf(run_id = 'from-stdin') FROM runs FORMAT TSV", '--config', join(dir, 'runsync.config.json'), '--data-dir', data], {}, junk);
    expect(q.code).toBe(0);
    expect(q.stdout).toBe(`${sim.truth().runs.length}\t0\n`);
  });

  it('a missing token variable: one line naming the source once', async () => {
    const r = await runsync(['sync', '--once', '--source', 'bad', '--config', join(dir, 'runsync.config.json'), '--data-dir', join(dir, 'data-missing')], { GOOD_TOKEN: sim.token });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('sync finished:\n  bad                  FAILED  environment variable BAD_TOKEN is not set\n');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toContain('undefined');
  });

  it('sql: a bad query is one line, in the ClickHouse words, exit 1', async () => {
    const r = await runsync(['sql', 'SELECT no_such_column FROM runs', '--data-dir', join(dir, 'data'), '--config', join(dir, 'runsync.config.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/^runsync sql: .*no_such_column.*UNKNOWN_IDENTIFIER/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const verbose = await runsync(['sql', 'SELECT no_such_column FROM runs', '--verbose', '--data-dir', join(dir, 'data'), '--config', join(dir, 'runsync.config.json')]);
    expect(verbose.stderr).toMatch(/^\s+at /m); // the stack, with --verbose only
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
    // Every time ISO-8601 UTC with Z, in JSON and in text.
    expect(good.lastSyncAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(good.watermark).toMatch(/Z$/);
    const text = await runsync(['status', '--data-dir', join(dir, 'data'), '--config', join(dir, 'runsync.config.json')]);
    for (const m of text.stdout.matchAll(/\d{4}-\d\d-\d\d.\d\d:\d\d:\d\d(\.\d+)?Z?/g)) expect(m[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const report = await runsync(['report', '--source', 'nosuch', '--data-dir', join(dir, 'data'), '--config', join(dir, 'runsync.config.json')]);
    expect(report.code).toBe(2);
    expect(report.stderr).toBe('runsync report: unknown source(s): nosuch (known: bad, good)\n');
  });
});

describe('runsync worker (production mode)', () => {
  it('joins the configured Temporal, creates the schedules, runs syncs started by anyone, stops on SIGTERM', async () => {
    const { Client, Connection } = await import('@temporalio/client');
    const cfg = JSON.parse(readFileSync(join(dir, 'runsync.config.json'), 'utf8'));
    const worker = spawn(process.execPath, ['bin/runsync.js', 'worker', '--schedules', '--config', join(dir, 'runsync.config.json'), '--data-dir', join(dir, 'worker-data')], {
      env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), GOOD_TOKEN: sim.token, BAD_TOKEN: 'x' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    worker.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number>((r) => worker.on('exit', (c) => r(c ?? -1)));
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      for (let i = 0; i < 120 && !out.includes('worker on task queue'); i++) await new Promise((r) => setTimeout(r, 250));
      expect(out).toMatch(/schedules: runsync-sync-good, runsync-sync-bad/);
      const client = new Client({ connection });
      const desc = await client.schedule.getHandle('runsync-sync-good').describe();
      // The source's default schedule is every five minutes: the next action is on a multiple of five, within five minutes.
      const next = desc.info.nextActionTimes[0];
      expect(next.getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000);
      expect(next.getUTCMinutes() % 5).toBe(0);
      expect(desc.policies.overlap).toBe('SKIP');
      expect(desc.action.type === 'startWorkflow' && desc.action.workflowType).toBe('scheduledSync');
      const res: any = await client.workflow.execute('syncSource', { taskQueue: cfg.temporal.taskQueue, workflowId: `worker-${Date.now()}`, args: [{ source: 'good' }] });
      expect(res.status).toBe('succeeded');
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
      await connection.close();
    }
  });
});

describe('runsync conventions', () => {
  it('--version prints the version from package.json', async () => {
    const r = await runsync(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
  });

  it('every subcommand has --help with one line per option', async () => {
    const { COMMANDS } = await import('../../cli/main.js');
    const { COMMON_OPTIONS } = await import('../../cli/args.js');
    for (const c of COMMANDS) {
      const r = await runsync([c.name, '--help']);
      expect(r.code, c.name).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(`Usage: runsync ${c.name} [options]${c.args ? ' ' + c.args : ''}`);
      for (const o of [...(c.options ?? []), ...COMMON_OPTIONS, { flags: '-h, --help', description: 'show this help' }]) {
        const lines = r.stdout.split('\n').filter((l) => l.trimStart().startsWith(o.flags + ' '));
        expect(lines, `${c.name}: ${o.flags}`).toHaveLength(1);
        expect(lines[0]).toContain(o.description);
      }
    }
  }, 180_000);

  it('usage mistakes: one line in runsync words, exit 2', async () => {
    const cases: [string[], string][] = [
      [['start', '--bogus'], "runsync start: unknown option '--bogus' (see `runsync start --help`)"],
      [['nosuch'], "runsync: unknown command 'nosuch' (see `runsync --help`)"],
      [['sync'], 'runsync sync: runsync sync runs one sync and exits: pass --once (for continuous syncing use `runsync start`)'],
      [['track', 'dx-demo'], "runsync track: missing required argument 'runIds' (see `runsync track --help`)"],
      [['report', '--format', 'pdf'], 'runsync report: --format must be md or html, not "pdf"'],
    ];
    for (const [args, first] of cases) {
      const r = await runsync(args);
      expect(r.stderr.split('\n')[0], args.join(' ')).toBe(first);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('check with no sources configured is an error', async () => {
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, JSON.stringify({ sources: [] }));
    const r = await runsync(['check', '--config', empty, '--data-dir', join(dir, 'unused')]);
    expect(r.stderr).toBe(`runsync check: no sources configured in ${empty}: add them (see README), or try \`runsync start --demo\`\n`);
    expect(r.code).toBe(2);
  });
});
