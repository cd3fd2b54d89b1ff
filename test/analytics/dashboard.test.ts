import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { startHttpServer } from '../../server/app.js';
import { serviceRoutes } from '../../server/routes.js';
import { closeSqlEngines } from '../../server/sql-endpoint.js';
import type { Services } from '../../runtime/services.js';
import { parseConfig } from '../../config/load.js';
import { generateReport, parseIsoWeek, weekOf } from '../../report/index.js';
import { buildFixtures, insertFixtures } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
// In CI the browser must be there (.ci/install-chromium.sh); locally, say why this is skipped.
const skip = !existsSync(CHROMIUM) && !process.env.CI;
if (skip) console.warn(`dashboard test skipped: ${CHROMIUM} is missing (apt-get install -y chromium, or run .ci/install-chromium.sh)`);

const TOKEN = 'dash-token';
let dir: string;
let profile: string;
let wh: Warehouse;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let browser: BrowserContext;
const OUT = resolve('test-output');

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'rs-'));
  profile = mkdtempSync(join(tmpdir(), 'rs-chromium-'));
  mkdirSync(OUT, { recursive: true });
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  await insertFixtures(wh.client, buildFixtures());
  const services = { config: parseConfig({ dataDir: dir }), dataDir: dir, warehouse: wh } as unknown as Services;
  http = await startHttpServer(services, serviceRoutes(), { host: '127.0.0.1', port: 0, token: TOKEN });
  // A persistent context is how playwright takes --user-data-dir: a throwaway profile.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 1400 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  if (skip) return;
  await browser?.close();
  await http?.close();
  await closeSqlEngines();
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
});

async function load(url: string, shot: string) {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
  const res = await page.goto(url, { waitUntil: 'load' });
  const charts = await page.$$eval('figure.chart svg', (svgs) =>
    svgs.map((s) => {
      const box = s.getBoundingClientRect();
      return { width: box.width, height: box.height, marks: s.querySelectorAll('path, rect, line').length };
    }),
  );
  const text = await page.innerText('body');
  await page.screenshot({ path: join(OUT, shot), fullPage: true });
  await page.close();
  return { status: res?.status(), charts, problems, text };
}

describe.skipIf(skip)('dashboard in headless Chromium', () => {
  it('renders a week, its charts and that week\'s sync health without console errors', async () => {
    const r = await load(`${http.url}/?week=2026-W46&token=${TOKEN}`, 'dashboard.png');
    expect(r.status).toBe(200);
    expect(r.problems).toEqual([]);
    expect(r.charts).toHaveLength(3);
    for (const c of r.charts) {
      expect(c.width).toBeGreaterThan(200);
      expect(c.height).toBeGreaterThan(100);
      expect(c.marks).toBeGreaterThan(10);
    }
    expect(r.text).toContain('Reliability report 2026-W46');
    expect(r.text).not.toContain('in progress');
    // The week's last sync error with its time, not today's.
    expect(r.text).toContain('Fri 13 Nov 09:00 UTC: timeout after 30 s');
    expect(r.text).not.toContain('HTTP 503 from /api/runs');
    expect(statSync(join(OUT, 'dashboard.png')).size).toBeGreaterThan(10_000);
  });

  it('says the current week is in progress and shows how fresh the data is now', async () => {
    const week = weekOf(Date.now());
    const r = await load(`${http.url}/?token=${TOKEN}`, 'dashboard-current.png');
    expect(r.status).toBe(200);
    expect(r.problems).toEqual([]);
    expect(r.text).toMatch(new RegExp(`Reliability report ${week.label} \\(in progress, to \\w{3} \\d{2} \\w{3} \\d{2}:\\d{2} UTC\\)`));
    expect(r.text).toContain('compared with the same span of');
    expect(r.text).toMatch(/last good sync 2 days ago/);
  });

  it('asks for the token when one is configured', async () => {
    const res = await fetch(`${http.url}/dashboard`);
    expect(res.status).toBe(401);
  });

  it('opens the generated HTML report file with its charts drawn', async () => {
    const { body } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), format: 'html' });
    const file = join(OUT, 'report-2026-W47.html');
    writeFileSync(file, body);
    const r = await load(`file://${file}`, 'report-2026-W47.png');
    expect(r.problems).toEqual([]);
    expect(r.charts).toHaveLength(3);
    expect(r.charts.every((c) => c.marks > 10)).toBe(true);
  });
});
