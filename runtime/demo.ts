import type { ProviderName, RunsyncConfig } from '../config/schema.js';
import { parseConfig } from '../config/load.js';
import { PROVIDERS } from '../providers/index.js';
import { startStraitSimulator } from '../simulators/strait.js';
import { startTracecatSimulator, type TracecatSimulator } from '../simulators/tracecat.js';
import { startB3osSimulator } from '../simulators/b3os.js';
import { startAnonSimulator } from '../simulators/anon.js';
import { startDxSimulator, type DxSimulator } from '../simulators/dx.js';
import { readServiceFile } from '../server/service-file.js';
import type { Simulator } from '../simulators/core/sim.js';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * When the demo's simulated history began. A restart on the same data directory rebuilds
 * the same worlds (same seed, same start) brought up to now, so the providers serve what
 * they served before plus what happened since: the runs already synced are unchanged and
 * nothing is fetched again for them. A start more than 30 days back begins afresh.
 */
function demoStart(dataDir: string, seed: number, speed: number, history: number): number {
  const file = join(dataDir, 'demo.json');
  const fresh = Date.now() - history;
  if (speed !== 1) return fresh;
  try {
    if (existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { start?: unknown; seed?: unknown };
      if (typeof saved.start === 'number' && saved.seed === seed && saved.start > Date.now() - 30 * 86_400_000) return saved.start;
    }
  } catch {
    // An unreadable file: begin afresh and write a new one.
  }
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify({ start: fresh, seed }) + '\n');
  return fresh;
}

/** How the demo brings up each provider's simulator and points a source at it. */
export interface DemoProvider {
  start(opts: { seed: number; start: number; speed: number }): Promise<Simulator<unknown>>;
  options(sim: Simulator<unknown>): Record<string, unknown>;
  /** Sources without a listing (DX): run ids the simulated world started since the last call. */
  newRunIds?(sim: Simulator<unknown>): string[];
}

const DEMO: Partial<Record<ProviderName, DemoProvider>> = {
  strait: {
    // An incident: every deploy fails for a day and a half, so the report's recovery figures have something to show.
    start: (o) =>
      startStraitSimulator({
        seed: o.seed, start: o.start, autoAdvance: { speed: o.speed }, initialRuns: 20, runsPerHour: 3,
        redSpells: [{ workflow: 'deploy-service', from: o.start + 5 * 86_400_000, to: o.start + 6.5 * 86_400_000 }],
      }),
    options: () => ({ projectId: 'proj_demo' }),
  },
  tracecat: {
    // Some failed executions are reset (a retry under the same execution id).
    start: (o) => startTracecatSimulator({ seed: o.seed, start: o.start, autoAdvance: { speed: o.speed }, initialRuns: 20, runsPerHour: 3, resetRate: 0.2 }),
    options: (sim) => ({ workspaceId: (sim as TracecatSimulator).workspaceId }),
  },
  b3os: {
    start: (o) => startB3osSimulator({ seed: o.seed, start: o.start, autoAdvance: { speed: o.speed }, initialRuns: 20, runsPerHour: 3 }),
    options: () => ({ orgId: 'org_demo' }),
  },
  anon: {
    start: (o) => startAnonSimulator({ seed: o.seed, start: o.start, autoAdvance: { speed: o.speed }, initialRuns: 20, runsPerHour: 2 }),
    // The simulator's list endpoint has the shape of the connector's default assumption.
    options: () => ({}),
  },
  dx: {
    start: (o) => startDxSimulator({ seed: o.seed, start: o.start, autoAdvance: { speed: o.speed }, initialRuns: 10, runsPerHour: 2 }),
    options: () => ({}),
    newRunIds: (sim) => (sim as DxSimulator).drainNewRunIds(),
  },
};

/**
 * DX cannot list runs: the systems that start them tell runsync their ids. In the demo the
 * ids of runs that exist at start are put into the inbox before the first sync
 * (`Demo.initialInbox`), and later runs are posted to the running service's inbox
 * endpoint, as such a system would do.
 */
function feedInboxes(dataDir: string, feeds: { source: string; sim: Simulator<unknown>; take: (sim: Simulator<unknown>) => string[] }[]): () => void {
  const pending = new Map<string, string[]>(feeds.map((f) => [f.source, []]));
  let busy = false;
  const timer = setInterval(async () => {
    const service = readServiceFile(dataDir);
    if (!service || busy) return;
    busy = true;
    try {
      for (const f of feeds) {
        const ids = [...pending.get(f.source)!, ...f.take(f.sim)];
        if (ids.length === 0) continue;
        try {
          const res = await fetch(`${service.url}/sources/${encodeURIComponent(f.source)}/runs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ run_ids: ids }),
          });
          pending.set(f.source, res.ok ? [] : ids);
        } catch {
          pending.set(f.source, ids);
        }
      }
    } finally {
      busy = false;
    }
  }, 2_000);
  timer.unref();
  return () => clearInterval(timer);
}

export interface Demo {
  config: RunsyncConfig;
  simulators: Simulator<unknown>[];
  /** Run ids that inbox-fed sources (DX) know of before the first sync. */
  initialInbox: { source: string; ids: string[] }[];
  close(): Promise<void>;
}

/** One of the demo's simulators, with what the demo knows of its provider. */
export interface DemoSimulator {
  provider: ProviderName;
  sim: Simulator<unknown>;
  demo: DemoProvider;
}

/**
 * The demo's simulated worlds, as of their start (not yet brought up to now): the same
 * worlds on every call with the same data directory and seed, which is what lets a
 * restart find what it synced before.
 */
export async function demoSimulators(opts: { dataDir: string; seed?: number; speed?: number }): Promise<DemoSimulator[]> {
  const speed = opts.speed ?? 1;
  const history = 9 * 86_400_000;
  const start = demoStart(opts.dataDir, opts.seed ?? 7, speed, history);
  const out: DemoSimulator[] = [];
  for (const [provider, demo] of Object.entries(DEMO) as [ProviderName, DemoProvider][]) {
    if (!PROVIDERS[provider]) continue;
    // A seed of its own per provider, so two simulators never invent the same ids.
    const sim = await demo.start({ seed: (opts.seed ?? 7) * 31 + out.length, start, speed: speed === 1 ? 0 : speed });
    out.push({ provider, sim, demo });
  }
  return out;
}

/**
 * The simulators' request logs, moved out of memory every half second: appended to `file`
 * (one JSON object a line: provider, method, path, query, status) when one is named
 * (RUNSYNC_DEMO_REQUEST_LOG), dropped otherwise, so a demo left running does not grow.
 */
function drainRequestLogs(simulators: Simulator<unknown>[], file: string | undefined): void {
  const lines: string[] = [];
  for (const s of simulators) {
    if (file) for (const r of s.requests) lines.push(JSON.stringify({ provider: s.provider, method: r.method, path: r.path, query: r.query, status: r.status }));
    s.clearRequests();
  }
  if (!file || lines.length === 0) return;
  try {
    appendFileSync(file, lines.join('\n') + '\n');
  } catch {
    // A log for looking at the demo: a write that fails must not stop it.
  }
}

/**
 * The demo: every provider that has a connector gets its bundled simulator on a
 * random loopback port and a source pointed at it; tokens go into this process's
 * environment, as a real deployment's would.
 */
export async function startDemo(opts: { dataDir: string; seed?: number; speed?: number; schedule?: string }): Promise<Demo> {
  const sources: unknown[] = [];
  const feeds: Parameters<typeof feedInboxes>[1] = [];
  // Simulated time starts nine days back and is brought up to now, so the first sync
  // backfills more than a full week (the weekly report has something to compare); from
  // then on it follows the wall clock: runs start, progress and finish in real time, and
  // nothing a provider says lies in the future. `speed` > 1 runs faster (tests only).
  const speed = opts.speed ?? 1;
  const built = await demoSimulators(opts);
  const simulators = built.map((b) => b.sim);
  for (const { provider, sim, demo } of built) {
    sim.advance(Math.max(0, Date.now() - sim.clock.now()));
    const tokenEnv = `RUNSYNC_DEMO_${provider.toUpperCase()}_TOKEN`;
    process.env[tokenEnv] = sim.token;
    if (demo.newRunIds) feeds.push({ source: `${provider}-demo`, sim, take: demo.newRunIds });
    sources.push({
      name: `${provider}-demo`,
      provider,
      baseUrl: sim.url,
      tokenEnv,
      schedule: opts.schedule ?? '* * * * *',
      lookback: '30m',
      settle: '10m',
      backfill: '14d',
      rateLimit: 50,
      options: demo.options(sim),
    });
  }
  const config = parseConfig({ dataDir: opts.dataDir, sources }, 'demo config');
  const initialInbox = feeds.map((f) => ({ source: f.source, ids: f.take(f.sim) }));
  const stopFeeding = feeds.length ? feedInboxes(config.dataDir, feeds) : () => undefined;
  const requestLog = process.env.RUNSYNC_DEMO_REQUEST_LOG || undefined;
  // At wall-clock speed the simulators are moved to the current time, never past it.
  const clock = setInterval(() => {
    if (speed === 1) simulators.forEach((s) => s.advance(Math.max(0, Date.now() - s.clock.now())));
    drainRequestLogs(simulators, requestLog);
  }, 500);
  clock.unref();
  return {
    config,
    simulators,
    initialInbox,
    close: async () => {
      stopFeeding();
      clearInterval(clock);
      await Promise.all(simulators.map((s) => s.close()));
      drainRequestLogs(simulators, requestLog);
    },
  };
}
