import type { ProviderName, RunsyncConfig } from '../config/schema.js';
import { parseConfig } from '../config/load.js';
import { PROVIDER_DEFINITIONS } from '../providers/index.js';
import { startStraitSimulator } from '../simulators/strait.js';
import type { Simulator } from '../simulators/core/sim.js';

/** How the demo brings up each provider's simulator and points a source at it. */
interface DemoProvider {
  start(opts: { seed: number; start: number; speed: number }): Promise<Simulator<unknown>>;
  options(sim: Simulator<unknown>): Record<string, unknown>;
}

const DEMO: Partial<Record<ProviderName, DemoProvider>> = {
  strait: {
    start: (o) => startStraitSimulator({ seed: o.seed, start: o.start, autoAdvance: { speed: o.speed }, initialRuns: 60, runsPerHour: 120 }),
    options: () => ({ projectId: 'proj_demo' }),
  },
};

export interface Demo {
  config: RunsyncConfig;
  simulators: Simulator<unknown>[];
  close(): Promise<void>;
}

/**
 * The demo: every provider that has a connector gets its bundled simulator on a
 * random loopback port and a source pointed at it; tokens go into this process's
 * environment, as a real deployment's would.
 */
export async function startDemo(opts: { dataDir: string; seed?: number; speed?: number; schedule?: string }): Promise<Demo> {
  const simulators: Simulator<unknown>[] = [];
  const sources: unknown[] = [];
  const speed = opts.speed ?? 30;
  // Simulated time starts a day back so the first sync has history to backfill.
  const start = Date.now() - 24 * 3_600_000;
  for (const [provider, demo] of Object.entries(DEMO) as [ProviderName, DemoProvider][]) {
    if (!PROVIDER_DEFINITIONS[provider]) continue;
    const sim = await demo.start({ seed: opts.seed ?? 7, start, speed });
    simulators.push(sim);
    const tokenEnv = `RUNSYNC_DEMO_${provider.toUpperCase()}_TOKEN`;
    process.env[tokenEnv] = sim.token;
    sources.push({
      name: `${provider}-demo`,
      provider,
      baseUrl: sim.url,
      tokenEnv,
      schedule: opts.schedule ?? '* * * * *',
      lookback: '30m',
      settle: '10m',
      backfill: '3d',
      rateLimit: 50,
      options: demo.options(sim),
    });
  }
  const config = parseConfig({ dataDir: opts.dataDir, sources }, 'demo config');
  return {
    config,
    simulators,
    close: async () => {
      await Promise.all(simulators.map((s) => s.close()));
    },
  };
}
