import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { weekOf } from '../../report/week.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

/**
 * The main job as a user runs it: `runsync start --demo` in its own process (joined to
 * the test run's Temporal server), then other runsync commands against the same data
 * directory while it runs, then Ctrl-C.
 */
let dir: string;
let child: ChildProcess;
let stdout = '';
let stderr = '';
let exited: Promise<number>;

const env = () => ({ ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress') });

function runsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['bin/runsync.js', ...args, '--data-dir', dir], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => resolve({ code: code ?? -1, stdout: out, stderr: err }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runsync-start-'));
  // At info level, as a user sees it (the test run's default is warn).
  child = spawn(process.execPath, ['bin/runsync.js', 'start', '--demo', '--port', '0', '--data-dir', dir], { env: { ...env(), RUNSYNC_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  exited = new Promise((r) => child.on('exit', (code) => r(code ?? -1)));
  const deadline = Date.now() + 150_000;
  while (!stdout.includes('syncing on schedule')) {
    if (Date.now() > deadline) throw new Error(`start --demo did not finish its first sync:\n${stdout}`);
    if (child.exitCode !== null) throw new Error(`start --demo exited early (${child.exitCode}):\n${stdout}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('runsync start --demo', () => {
  it('syncs all five providers and reports what landed', () => {
    for (const p of ['strait', 'tracecat', 'b3os', 'anon', 'dx']) expect(stdout).toMatch(new RegExp(`${p}-demo\\s+ok\\s+new=[1-9]`));
    expect(stdout).toMatch(/this week's reliability report: .*\.html/);
  });

  it('other commands work while the service holds the embedded warehouse', async () => {
    const service = JSON.parse(readFileSync(join(dir, 'service.json'), 'utf8'));
    const sql = await runsync(['sql', 'SELECT count() > 0 FROM runs FORMAT TSV']);
    expect(sql.stderr).toBe('');
    expect(sql.stdout).toBe('1\n');
    const refused = await runsync(['sql', 'DROP TABLE runs']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^runsync sql: Cannot execute query in readonly mode: runsync's SQL endpoint runs SELECT, SHOW, DESCRIBE and EXPLAIN only/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const status = await runsync(['status', '--json']);
    expect(status.stderr + String(status.code)).toBe("0");
    expect(JSON.parse(status.stdout).map((s: any) => s.source).sort()).toEqual(['anon-demo', 'b3os-demo', 'dx-demo', 'strait-demo', 'tracecat-demo']);
    // The running service's syncs in flight (none, or one with its counts), and ISO times.
    for (const s of JSON.parse(status.stdout)) {
      expect(s.syncing === null || typeof s.syncing.counts.rows_written === 'number').toBe(true);
      expect(s.lastSyncAt).toMatch(/Z$/);
    }
    const track = await runsync(['track', 'dx-demo', 'some-run-id-1']);
    expect(track.stderr + String(track.code)).toBe("0");
    expect(track.stdout).toMatch(/through the running service/);
    const dash = await fetch(`${service.url}/dashboard`);
    expect(dash.status).toBe(200);
    expect(await dash.text()).toMatch(/<svg/);
  });

  it('runsync report on the demo data: both formats, and the HTML opens in Chromium with its charts drawn', async () => {
    const week = weekOf(Date.now()).label;
    const out = resolve('test-output');
    mkdirSync(out, { recursive: true });
    const md = await runsync(['report', '--week', week, '--format', 'md']);
    expect(md.stderr + String(md.code)).toBe('0');
    for (const p of ['strait', 'tracecat', 'b3os', 'anon', 'dx']) expect(md.stdout).toMatch(new RegExp(`\\| ${p}-demo \\| [1-9]\\d* \\|`));
    for (const section of ['Retries', 'Recovery', 'Top failure reasons', 'Queue time', 'Cost']) expect(md.stdout).toContain(`## ${section}`);
    const html = join(out, 'demo-report.html');
    const r = await runsync(['report', '--week', week, '--format', 'html', '--out', html]);
    expect(r.stderr + String(r.code)).toBe('0');
    if (!existsSync('/usr/bin/chromium') && !process.env.CI) {
      process.stderr.write('skipping the browser check: Chromium not found at /usr/bin/chromium (bash .ci/install-chromium.sh)\n');
      return;
    }
    const profile = mkdtempSync(join(tmpdir(), 'runsync-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1100, height: 1400 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const service = JSON.parse(readFileSync(join(dir, 'service.json'), 'utf8'));
      for (const [url, shot] of [[`file://${html}`, 'demo-report.png'], [`${service.url}/dashboard`, 'demo-dashboard.png']]) {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (m) => (m.type() === 'error' ? problems.push(m.text()) : undefined));
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(url, { waitUntil: 'load' });
        const marks = await page.$$eval('figure.chart svg', (svgs) => svgs.map((svg) => svg.querySelectorAll('path, rect, line').length));
        await page.screenshot({ path: join(out, shot), fullPage: true });
        await page.close();
        expect(problems).toEqual([]);
        expect(marks.length).toBe(3);
        expect(marks.every((n) => n > 10)).toBe(true);
      }
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('stops cleanly on SIGINT', async () => {
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-99), 60_000))]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/INFO  SIGINT: shutting down/);
    expect(existsSync(join(dir, 'service.json'))).toBe(false);
    expect(existsSync(join(dir, 'runsync.lock'))).toBe(false);
    expect(stderr).not.toMatch(/WORKER_SHUTDOWN|error=undefined|^\s+at /m);
  });
});
