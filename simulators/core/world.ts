/**
 * Generic run-progress model shared by all simulators.
 *
 * Every run is planned in full when it is created (queue time, each step's
 * start/end, retries, outcome), from its own seeded RNG stream. What an API
 * shows is the plan *viewed at the clock's now*: a step is pending before its
 * start, running until its end, then final. advance() therefore only moves
 * the clock and fires scheduled creations (new arrivals, retries, resets);
 * splitting one advance into many gives the same world.
 *
 * Overrides are status changes that happen after (or instead of) the planned
 * end: compensation, test hooks, a provider's own terminal word. They are
 * dated, so a future-dated override appears only when the clock reaches it.
 */
import { SimClock } from './clock.js';
import { Rng, deriveSeed } from './rng.js';

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
export type StepStatus =
  | 'pending'
  | 'running'
  | 'waiting'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'skipped';

export const TERMINAL_RUN: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);

export interface StepDef {
  ref: string;
  name: string;
  /** `wait`: waits for a person/approval (run shows as waiting); `child`: starts a child workflow. */
  kind: 'task' | 'wait' | 'child';
}

/** A workflow's steps as `[ref, name]`, with a kind after them when the step is not a plain task. */
export function steps(...defs: [ref: string, name: string, kind?: StepDef['kind']][]): StepDef[] {
  return defs.map(([ref, name, kind = 'task']) => ({ ref, name, kind }));
}

export interface WorkflowDef {
  index: number;
  /** Stable slug, e.g. `provision-tenant`. */
  key: string;
  name: string;
  description: string;
  version: number;
  steps: StepDef[];
}

export interface Attempt {
  startAt: number;
  endAt: number;
  ok: boolean;
  error: string | null;
  /** The message's template (`{n}`, `{ip}`… where the message has variable parts). */
  errorTemplate?: string;
}

export interface StepPlan {
  index: number;
  def: StepDef;
  /** Step row appears when the run starts. */
  createdAt: number;
  /** null: never starts (skipped/cancelled). */
  startAt: number | null;
  /** When the step reaches `final` (for never-started steps: the run's end). */
  endAt: number;
  final: StepStatus;
  /** Every attempt; earlier ones failed and were retried. */
  attempts: Attempt[];
  error: string | null;
  output: Record<string, unknown> | null;
}

export interface RunOverride {
  at: number;
  status: RunStatus;
  /** Provider's own status word to show instead of the mapped one. */
  raw?: string;
  error?: string | null;
}

export interface WorldRun {
  /** Creation order, 0-based. */
  index: number;
  /** Unique key in this world (the provider's run id). */
  id: string;
  workflow: WorkflowDef;
  createdAt: number;
  /** Sub-millisecond part of createdAt in ns (0..999999), for providers with ns timestamps. */
  subNs: number;
  startAt: number;
  endAt: number;
  final: RunStatus;
  error: string | null;
  steps: StepPlan[];
  overrides: RunOverride[];
  retryOf: WorldRun | null;
  /** `error` with its variable parts as placeholders: failures with the same template differ only in ids and numbers. */
  errorTemplate: string | null;
  /** Provider-specific fields chosen at creation (trigger, user, flags…). */
  meta: Record<string, unknown>;
  /** The run's own RNG stream, for providers that need more draws at creation. */
  rng: Rng;
}

export interface StepView {
  plan: StepPlan;
  status: StepStatus;
  startedAt: number | null;
  finishedAt: number | null;
  /** 1-based attempt number currently shown (0 before the first start). */
  attempt: number;
  error: string | null;
  output: Record<string, unknown> | null;
}

export interface RunView {
  run: WorldRun;
  status: RunStatus;
  raw: string | undefined;
  startedAt: number | null;
  finishedAt: number | null;
  /** Latest instant at which anything about the run changed (≤ now). */
  updatedAt: number;
  error: string | null;
  steps: StepView[];
  /** The step running or waiting now, else the last one that started. */
  currentStep: StepView | null;
}

export interface OutcomeWeights {
  succeeded: number;
  failed: number;
  timed_out: number;
  cancelled: number;
}

export interface CreateRunInput {
  createdAt?: number;
  workflow?: WorkflowDef;
  retryOf?: WorldRun;
  subNs?: number;
  /** Force the planned outcome. */
  outcome?: RunStatus;
  meta?: Record<string, unknown>;
}

export interface WorldHooks {
  /** Provider id for a new run (must be unique in the world). */
  makeId(rng: Rng, input: CreateRunInput): string;
  /** Provider decorations: meta fields, overrides, follow-up runs. */
  decorate?(run: WorldRun, world: World, input: CreateRunInput): void;
}

export interface WorldOptions {
  seed: number;
  clock: SimClock;
  initialRuns: number;
  runsPerHour: number;
  workflows: Omit<WorkflowDef, 'index'>[];
  outcomes?: Partial<OutcomeWeights>;
  /** Probability a step's first attempt fails and is retried. */
  stepRetryRate?: number;
  /** How far back the initial runs are spread (ms). */
  historyMs?: number;
  /** Spells during which every run of a workflow created in [from, to) fails (an incident). */
  redSpells?: RedSpell[];
  hooks: WorldHooks;
}

const DEFAULT_OUTCOMES: OutcomeWeights = { succeeded: 0.72, failed: 0.16, timed_out: 0.05, cancelled: 0.07 };

export interface RedSpell {
  /** WorkflowDef.key */
  workflow: string;
  from: number;
  to: number;
}

/**
 * Step failures. Most carry variable parts (addresses, ids, counts), so real messages
 * differ run to run while meaning the same thing; `fillError` draws the parts.
 */
export const STEP_ERRORS = [
  'connection reset by peer {ip}:{port}',
  'upstream returned 502 Bad Gateway (request {hex})',
  'validation failed: field "account_id" is required',
  'permission denied for resource {uuid}',
  'timeout after {ms} ms calling {ip}',
  'out of memory (limit {n} MiB)',
  'unexpected end of JSON input at position {n}',
];

export function fillError(template: string, rng: Rng): string {
  return template.replace(/\{(ip|port|hex|uuid|ms|n)\}/g, (_, k: string) => {
    switch (k) {
      case 'ip':
        return `10.0.${rng.int(0, 255)}.${rng.int(1, 254)}`;
      case 'port':
        return String(rng.int(1024, 65535));
      case 'hex':
        return rng.hex(16);
      case 'uuid':
        return rng.uuid();
      case 'ms':
        return String(rng.int(29_000, 31_000));
      default:
        return String(rng.int(1, 99_999));
    }
  });
}

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
}

export class World {
  readonly runs: WorldRun[] = [];
  readonly byId = new Map<string, WorldRun>();
  readonly workflows: WorkflowDef[];
  readonly clock: SimClock;
  readonly rng: Rng;
  private queue: Scheduled[] = [];
  private seq = 0;
  private arrivalRng: Rng;
  private outcomes: OutcomeWeights;
  private stepRetryRate: number;
  private runsPerHour: number;
  /** Variable parts of error messages: a stream of its own, so adding them changes no other draw. */
  private detailRng: Rng;
  private listeners: ((run: WorldRun) => void)[] = [];

  constructor(private readonly opts: WorldOptions) {
    this.clock = opts.clock;
    this.rng = new Rng(deriveSeed(opts.seed, 'world'));
    this.arrivalRng = new Rng(deriveSeed(opts.seed, 'arrivals'));
    this.outcomes = { ...DEFAULT_OUTCOMES, ...(opts.outcomes ?? {}) };
    this.stepRetryRate = opts.stepRetryRate ?? 0.1;
    this.detailRng = new Rng(deriveSeed(opts.seed, 'error-details'));
    this.runsPerHour = opts.runsPerHour;
    this.workflows = opts.workflows.map((w, index) => ({ ...w, index }));
  }

  /** Build the past: initial runs spread over `historyMs`, the latest few still running at `start`. */
  init(): void {
    const start = this.clock.now();
    const historyMs = this.opts.historyMs ?? 3 * 86_400_000;
    const n = Math.max(0, this.opts.initialRuns);
    const recent = n === 0 ? 0 : Math.min(n, Math.max(2, Math.round(n * 0.1)));
    const times: number[] = [];
    for (let i = 0; i < n - recent; i++) times.push(start - this.arrivalRng.int(20 * 60_000, historyMs));
    for (let i = 0; i < recent; i++) times.push(start - this.arrivalRng.int(5_000, 12 * 60_000));
    times.sort((a, b) => a - b);
    if (times.length > 0) {
      this.clock.rewind(Math.min(start, times[0]));
      for (const t of times) this.schedule(t, () => this.createRun({ createdAt: t }));
      this.runUntil(start);
    }
    this.scheduleNextArrival(start);
  }

  onRunCreated(fn: (run: WorldRun) => void): void {
    this.listeners.push(fn);
  }

  /** Run `fn` when simulated time reaches `at` (immediately on the next advance if already past). */
  schedule(at: number, fn: () => void): void {
    // keep the queue sorted by (at, seq): binary insertion, pop from the front
    const item = { at, seq: this.seq++, fn };
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid].at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`advance needs ms >= 0 (got ${ms})`);
    this.runUntil(this.clock.now() + Math.floor(ms));
  }

  private runUntil(target: number): void {
    while (this.queue.length > 0 && this.queue[0].at <= target) {
      const item = this.queue.shift()!;
      if (item.at > this.clock.now()) this.clock.set(item.at);
      item.fn();
    }
    if (target > this.clock.now()) this.clock.set(target);
  }

  private scheduleNextArrival(from: number): void {
    if (!(this.runsPerHour > 0)) return;
    const gap = Math.max(1, Math.round(this.arrivalRng.exp(3_600_000 / this.runsPerHour)));
    const at = from + gap;
    this.schedule(at, () => {
      this.createRun({ createdAt: at });
      this.scheduleNextArrival(at);
    });
  }

  /** Create a run now (or at input.createdAt, which must not be in the future). */
  createRun(input: CreateRunInput = {}): WorldRun {
    const index = this.runs.length;
    const rng = new Rng(deriveSeed(this.opts.seed, 'run', index));
    const createdAt = input.createdAt ?? this.clock.now();
    const workflow = input.workflow ?? rng.pick(this.workflows);
    const subNs = input.subNs ?? rng.int(0, 999_999);
    let id = this.opts.hooks.makeId(rng, input);
    while (this.byId.has(id)) id = this.opts.hooks.makeId(rng, input);
    const inSpell = (this.opts.redSpells ?? []).some((s) => s.workflow === workflow.key && createdAt >= s.from && createdAt < s.to);
    const plan = this.plan(rng, workflow, createdAt, input.outcome ?? (inSpell ? 'failed' : undefined));
    const run: WorldRun = {
      index,
      id,
      workflow,
      createdAt,
      subNs,
      startAt: plan.startAt,
      endAt: plan.endAt,
      final: plan.final,
      error: plan.error,
      errorTemplate: plan.errorTemplate,
      steps: plan.steps,
      overrides: [],
      retryOf: input.retryOf ?? null,
      meta: { ...(input.meta ?? {}) },
      rng,
    };
    this.runs.push(run);
    this.byId.set(id, run);
    this.opts.hooks.decorate?.(run, this, input);
    for (const l of this.listeners) l(run);
    return run;
  }

  private plan(
    rng: Rng,
    wf: WorkflowDef,
    createdAt: number,
    forced: RunStatus | undefined,
  ): Pick<WorldRun, 'startAt' | 'endAt' | 'final' | 'error' | 'errorTemplate' | 'steps'> {
    const outcome: RunStatus =
      forced && TERMINAL_RUN.has(forced) ? forced : rng.weighted<keyof OutcomeWeights>(this.outcomes);
    const startAt = createdAt + rng.int(150, 25_000);
    const n = wf.steps.length;
    const stopAt = outcome === 'succeeded' ? n : rng.int(0, n - 1);
    const steps: StepPlan[] = [];
    let t = startAt + rng.int(5, 400);
    let runError: string | null = null;
    let runErrorTemplate: string | null = null;
    const stepError = (): Pick<Attempt, 'error' | 'errorTemplate'> => {
      const template = rng.pick(STEP_ERRORS);
      return { error: fillError(template, this.detailRng), errorTemplate: template };
    };
    for (let i = 0; i < n; i++) {
      const def = wf.steps[i];
      const createdStep = startAt + i; // distinct, ordered creation instants
      if (i > stopAt || (i === stopAt && outcome === 'succeeded')) {
        steps.push({ index: i, def, createdAt: createdStep, startAt: null, endAt: 0, final: 'skipped', attempts: [], error: null, output: null });
        continue;
      }
      const dur = () => (def.kind === 'wait' ? rng.int(3 * 60_000, 45 * 60_000) : rng.int(1_500, 150_000));
      const attempts: Attempt[] = [];
      let stepStart = t;
      if (i < stopAt || outcome === 'succeeded') {
        if (rng.chance(this.stepRetryRate)) {
          const d = rng.int(500, 20_000);
          attempts.push({ startAt: t, endAt: t + d, ok: false, ...stepError() });
          t += d + rng.int(1_000, 10_000);
        }
        const d = dur();
        attempts.push({ startAt: t, endAt: t + d, ok: true, error: null });
        t += d;
        steps.push({
          index: i, def, createdAt: createdStep, startAt: stepStart, endAt: t, final: 'succeeded', attempts, error: null,
          output: { ok: true, items: rng.int(0, 500), ref: def.ref },
        });
        t += rng.int(5, 2_000);
        continue;
      }
      // the step where the run stops
      let final: StepStatus;
      let error: string | null;
      let template: string | null;
      if (outcome === 'failed') {
        const tries = rng.int(1, 3);
        for (let k = 0; k < tries; k++) {
          const d = rng.int(500, 60_000);
          attempts.push({ startAt: t, endAt: t + d, ok: false, ...stepError() });
          t += d + (k < tries - 1 ? rng.int(1_000, 15_000) : 0);
        }
        final = 'failed';
        error = attempts[attempts.length - 1].error;
        template = attempts[attempts.length - 1].errorTemplate ?? error;
      } else if (outcome === 'timed_out') {
        const d = rng.int(10 * 60_000, 60 * 60_000);
        attempts.push({ startAt: t, endAt: t + d, ok: false, error: 'timed out' });
        t += d;
        final = 'timed_out';
        error = `step ${def.ref} timed out after ${Math.round(d / 1000)}s`;
        template = `step ${def.ref} timed out after {n}s`;
      } else {
        const d = rng.int(1_000, 90_000);
        attempts.push({ startAt: t, endAt: t + d, ok: false, error: 'canceled by user' });
        t += d;
        final = 'cancelled';
        error = 'canceled by user';
        template = error;
      }
      runError = outcome === 'cancelled' ? null : `step ${def.ref}: ${error}`;
      runErrorTemplate = outcome === 'cancelled' ? null : `step ${def.ref}: ${template}`;
      steps.push({ index: i, def, createdAt: createdStep, startAt: stepStart, endAt: t, final, attempts, error, output: null });
    }
    const endAt = t + rng.int(5, 800);
    for (const s of steps) {
      if (s.startAt === null) {
        s.endAt = endAt;
        s.final = outcome === 'cancelled' ? 'cancelled' : 'skipped';
      }
    }
    return { startAt, endAt, final: outcome, error: runError, errorTemplate: runErrorTemplate, steps };
  }

  /**
   * End a run now with `status`, cutting its plan (steps in flight become
   * cancelled, unstarted ones too). History before now is unchanged.
   */
  terminate(run: WorldRun, status: RunStatus, raw?: string, error: string | null = null): void {
    const now = this.clock.now();
    if (run.endAt <= now) {
      run.overrides.push({ at: now, status, raw, error });
      return;
    }
    const stepStatus: StepStatus = status === 'failed' || status === 'timed_out' ? status : 'cancelled';
    for (const s of run.steps) {
      if (s.startAt !== null && s.startAt <= now && s.endAt > now) {
        s.attempts = s.attempts.filter((a) => a.startAt <= now);
        const last = s.attempts[s.attempts.length - 1];
        if (last) {
          last.endAt = Math.max(last.startAt, Math.min(last.endAt, now));
          last.ok = false;
          last.error = error ?? 'terminated';
        }
        s.endAt = now;
        s.final = stepStatus;
        s.error = error ?? 'terminated';
        s.output = null;
      } else if (s.startAt === null || s.startAt > now) {
        s.startAt = null;
        s.attempts = [];
        s.endAt = now;
        s.final = 'cancelled';
        s.output = null;
      }
    }
    if (run.startAt > now) run.startAt = now;
    run.endAt = now;
    run.final = status;
    run.error = error;
    run.errorTemplate = error;
    run.overrides = run.overrides.filter((o) => o.at <= now);
    if (raw) run.overrides.push({ at: now, status, raw, error });
  }

  private sortCache = new Map<string, { n: number; rows: WorldRun[] }>();

  /**
   * All runs (future-dated ones included: callers filter on createdAt) sorted by
   * an immutable key, cached until a run is added. Lets list endpoints serialise
   * only the page they answer.
   */
  sorted(name: string, cmp: (a: WorldRun, b: WorldRun) => number): WorldRun[] {
    const c = this.sortCache.get(name);
    if (c && c.n === this.runs.length) return c.rows;
    const rows = [...this.runs].sort(cmp);
    this.sortCache.set(name, { n: this.runs.length, rows });
    return rows;
  }

  /** Runs that exist now, in creation order. */
  existing(): WorldRun[] {
    const now = this.clock.now();
    return this.runs.filter((r) => r.createdAt <= now);
  }

  view(run: WorldRun, now: number = this.clock.now()): RunView {
    const stepViews = run.steps.map((s) => viewStep(s, run, now));
    let status: RunStatus;
    if (now < run.startAt) status = 'queued';
    else if (now < run.endAt) {
      status = stepViews.some((s) => s.status === 'waiting') ? 'waiting' : 'running';
    } else status = run.final;
    let raw: string | undefined;
    let error = now >= run.endAt ? run.error : null;
    let finishedAt: number | null = now >= run.endAt ? run.endAt : null;
    const changes: number[] = [run.createdAt];
    for (const o of run.overrides) {
      if (o.at > now) continue;
      changes.push(o.at);
      status = o.status;
      raw = o.raw;
      if (o.error !== undefined) error = o.error;
      if (finishedAt === null && TERMINAL_RUN.has(o.status)) finishedAt = o.at;
    }
    for (const t of [run.startAt, run.endAt]) if (t <= now) changes.push(t);
    for (const s of run.steps) {
      if (s.createdAt <= now) changes.push(s.createdAt);
      for (const a of s.attempts) for (const t of [a.startAt, a.endAt]) if (t <= now) changes.push(t);
      if (s.endAt <= now) changes.push(s.endAt);
    }
    const active = stepViews.filter((s) => s.status === 'running' || s.status === 'waiting');
    const started = stepViews.filter((s) => s.startedAt !== null);
    return {
      run,
      status,
      raw,
      startedAt: now >= run.startAt ? run.startAt : null,
      finishedAt,
      updatedAt: Math.max(...changes),
      error,
      steps: now >= run.startAt ? stepViews : [],
      currentStep: active[0] ?? started[started.length - 1] ?? null,
    };
  }
}

function viewStep(s: StepPlan, run: WorldRun, now: number): StepView {
  const base = { plan: s, output: null as Record<string, unknown> | null };
  if (s.startAt === null || now < s.startAt) {
    if (now >= s.endAt && s.startAt === null) {
      return { ...base, status: s.final, startedAt: null, finishedAt: s.final === 'cancelled' ? s.endAt : null, attempt: 0, error: null };
    }
    return { ...base, status: 'pending', startedAt: null, finishedAt: null, attempt: 0, error: null };
  }
  if (now >= s.endAt) {
    return {
      ...base,
      status: s.final,
      startedAt: s.startAt,
      finishedAt: s.endAt,
      attempt: s.attempts.length,
      error: s.error,
      output: s.output,
    };
  }
  // in flight: which attempt?
  let attempt = 1;
  let lastError: string | null = null;
  for (let k = 0; k < s.attempts.length; k++) {
    if (s.attempts[k].startAt <= now) {
      attempt = k + 1;
      if (k > 0) lastError = s.attempts[k - 1].error;
    }
  }
  void run;
  return {
    ...base,
    status: s.def.kind === 'wait' ? 'waiting' : 'running',
    startedAt: s.startAt,
    finishedAt: null,
    attempt,
    error: lastError,
  };
}
