/** Wiring shared by every simulator: clock + world + server + faults + request log + autoAdvance. */
import { SimClock, DEFAULT_START } from './clock.js';
import { FaultPlan, type RateLimitOptions } from './faults.js';
import { startServer, type ProviderStyle, type RequestLogEntry, type RouteDef } from './server.js';
import { World, type WorldHooks, type WorkflowDef, type OutcomeWeights, type RedSpell, type RunOverride } from './world.js';

export type ProviderName = 'dx' | 'anon' | 'strait' | 'tracecat' | 'b3os';

export interface SimulatorOptions {
  /** Same seed ⇒ identical data (default 1). */
  seed?: number;
  /** 0 = random free port (default). */
  port?: number;
  /** Valid bearer tokens; the first is `sim.token`. */
  tokens?: string[];
  /** Runs that exist at start, spread over the past days (default 30). */
  initialRuns?: number;
  /** How many days back the initial runs are spread (default 3). */
  historyDays?: number;
  /** Incidents: every run of a workflow (by key) created in [from, to) fails. */
  redSpells?: RedSpell[];
  /** New runs per simulated hour while time advances (default 20). */
  runsPerHour?: number;
  /** Per-token (per-org for B3OS, per-account for DX) limit on real wall time. */
  rateLimit?: RateLimitOptions;
  /** Clock start, ms epoch (default 2026-11-16T00:00:00Z). */
  start?: number;
  /** Advance the clock on a real timer: `speed` simulated seconds per real second. */
  autoAdvance?: { speed: number; tickMs?: number };
}

export interface SimClockApi {
  now(): number;
  advance(ms: number): void;
}

export interface Simulator<TTruth = unknown> {
  provider: ProviderName;
  /** Base URL the connector uses. */
  url: string;
  port: number;
  /** First valid token. */
  token: string;
  clock: SimClockApi;
  advance(ms: number): void;
  requests: RequestLogEntry[];
  clearRequests(): void;
  faults: FaultPlan;
  /** Exactly what the API would answer now, in the provider's own JSON shape. */
  truth(): TTruth;
  /**
   * Shows `word`, a status the provider's docs do not list, for an open run until
   * `releaseStatus`: the run is not finished and sits in none of the documented states.
   * Picks the newest run that stays open at least `minOpenMs` (default 10 min) unless
   * `runId` is given. Returns the run's world id (the provider's run id; Tracecat's `run_id`).
   */
  holdStatus(word: string, opts?: { runId?: string; minOpenMs?: number }): string;
  /** The run shows its planned status again. */
  releaseStatus(runId: string): void;
  close(): Promise<void>;
}

export interface BuildInput<TTruth> {
  provider: ProviderName;
  opts: SimulatorOptions;
  defaultTokens: string[];
  /** Appended to the server's origin for `sim.url` (e.g. `/api/v2`). */
  basePath?: string;
  workflows: Omit<WorkflowDef, 'index'>[];
  outcomes?: Partial<OutcomeWeights>;
  hooks: WorldHooks;
  /** Default rate limit when the options give none (null: unlimited). */
  defaultRateLimit?: RateLimitOptions | null;
  /** Routes and style are built once the world exists. */
  api(world: World, ctx: { tokens: string[]; faults: FaultPlan }): { routes: RouteDef[]; style: ProviderStyle };
  truth(world: World): TTruth;
}

export interface Built<TTruth> extends Simulator<TTruth> {
  world: World;
}

export async function buildSimulator<TTruth>(input: BuildInput<TTruth>): Promise<Built<TTruth>> {
  const { opts } = input;
  const clock = new SimClock(opts.start ?? DEFAULT_START);
  const tokens = opts.tokens && opts.tokens.length > 0 ? [...opts.tokens] : [...input.defaultTokens];
  const world = new World({
    seed: opts.seed ?? 1,
    clock,
    initialRuns: opts.initialRuns ?? 30,
    historyMs: opts.historyDays !== undefined ? opts.historyDays * 86_400_000 : undefined,
    redSpells: opts.redSpells,
    runsPerHour: opts.runsPerHour ?? 20,
    workflows: input.workflows,
    outcomes: input.outcomes,
    hooks: input.hooks,
  });
  world.init();
  const faults = new FaultPlan();
  const rl = opts.rateLimit ?? input.defaultRateLimit ?? null;
  if (rl) faults.setRateLimit(rl);
  const requests: RequestLogEntry[] = [];
  const { routes, style } = input.api(world, { tokens, faults });
  const server = await startServer({ port: opts.port ?? 0, routes, style, clock, faults, log: requests });

  const advance = (ms: number) => world.advance(ms);
  let timer: NodeJS.Timeout | null = null;
  if (opts.autoAdvance && opts.autoAdvance.speed > 0) {
    const tickMs = opts.autoAdvance.tickMs ?? 250;
    const speed = opts.autoAdvance.speed;
    timer = setInterval(() => advance(speed * tickMs), tickMs);
    timer.unref();
  }

  const held = new Map<string, RunOverride>();
  const holdStatus = (word: string, o: { runId?: string; minOpenMs?: number } = {}): string => {
    const now = clock.now();
    const minOpen = o.minOpenMs ?? 10 * 60_000;
    const run = o.runId
      ? world.byId.get(o.runId)
      : [...world.runs].reverse().find((r) => r.createdAt <= now && r.endAt > now + minOpen && !held.has(r.id));
    if (!run) throw new Error(o.runId ? `no run ${o.runId}` : `no run stays open ${minOpen} ms from now to hold in status ${word}`);
    if (run.endAt <= now) throw new Error(`run ${run.id} is finished; only an open run can be held in status ${word}`);
    // Not terminal, so the world keeps finished_at empty while the word shows.
    const ov: RunOverride = { at: now, status: 'waiting', raw: word };
    run.overrides.push(ov);
    held.set(run.id, ov);
    return run.id;
  };
  const releaseStatus = (runId: string): void => {
    const run = world.byId.get(runId);
    const ov = held.get(runId);
    if (!run || !ov) throw new Error(`run ${runId} is not held`);
    run.overrides = run.overrides.filter((x) => x !== ov);
    held.delete(runId);
  };

  return {
    provider: input.provider,
    url: server.url + (input.basePath ?? ''),
    port: server.port,
    token: tokens[0],
    clock: { now: () => clock.now(), advance },
    advance,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    faults,
    truth: () => input.truth(world),
    holdStatus,
    releaseStatus,
    close: async () => {
      if (timer) clearInterval(timer);
      timer = null;
      await server.close();
    },
    world,
  };
}

/** Standard paging-parameter parse: integer in [min, max] or a default; NaN when invalid. */
export function intParam(v: string | undefined, def: number): number {
  if (v === undefined || v === '') return def;
  if (!/^-?\d+$/.test(v)) return Number.NaN;
  return Number(v);
}
