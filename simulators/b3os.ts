/**
 * B3OS simulator: `{code, data, message, requestId}` envelope on every answer,
 * limit/offset paging. Base URL for the connector: `sim.url`
 * (http://127.0.0.1:PORT; paths begin with /v1, like https://api.b3os.org/v1/…).
 */
import { buildSimulator, intParam, type Simulator, type SimulatorOptions } from './core/sim.js';
import type { HttpReply, RequestCtx, RouteDef } from './core/server.js';
import { alternatingCorruption } from './core/faults.js';
import { Rng, deriveSeed } from './core/rng.js';
import { isoMs } from './core/time.js';
import { steps, type RunStatus, type StepStatus, type WorkflowDef, type World, type WorldRun } from './core/world.js';

export const B3OS_STATUSES = ['running', 'waiting', 'success', 'failure', 'cancelled', 'partial'] as const;
export type B3osStatus = (typeof B3OS_STATUSES)[number];

export interface B3osWorkflow {
  id: string;
  name: string;
  description: string;
  status: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface B3osRun {
  finishedAt: string | null;
  id: string;
  isDustTest: boolean;
  isSimulation: boolean;
  sourceRunId: string | null;
  startedAt: string;
  status: B3osStatus;
  totalCu: number;
  triggerSource: string;
  triggeredBy: string;
  workflowId: string;
  workflowVersion: number;
}

export interface B3osNodeState {
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  error?: string;
  output?: Record<string, unknown>;
}

export interface B3osRunDetail extends B3osRun {
  executionState: Record<string, B3osNodeState>;
  workflowDefinition: {
    id: string;
    version: number;
    nodes: { id: string; type: string; name: string; props: Record<string, unknown> }[];
    edges: { from: string; to: string }[];
  };
  propValues: Record<string, unknown>;
}

export interface B3osTruth {
  workflows: B3osWorkflow[];
  /** Every run's full detail (`summary=false`), newest `startedAt` first. */
  runs: B3osRunDetail[];
}

export interface B3osSimulatorOptions extends SimulatorOptions {
  /** Organisation of the tokens; a different `X-Org-ID` header is refused (default `org_demo`). */
  orgId?: string;
}

export interface B3osSimulator extends Simulator<B3osTruth> {
  provider: 'b3os';
  world: World;
  /** Create `n` new runs (of the listed workflow) right before answering the next runs-list call. */
  insertRunsOnNextListCall(n: number): void;
}

const WORKFLOWS: Omit<WorkflowDef, 'index'>[] = [
  { key: 'dca-buy', name: 'DCA buy', description: 'Dollar-cost average into ETH every hour', version: 6, steps: steps(['fetch_price', 'Fetch price'], ['check_balance', 'Check balance'], ['swap', 'Swap'], ['notify', 'Notify']) },
  { key: 'treasury-rebalance', name: 'Treasury rebalance', description: 'Rebalance treasury after sign-off', version: 3, steps: steps(['snapshot', 'Snapshot'], ['signoff', 'Sign-off', 'wait'], ['bridge', 'Bridge'], ['rebalance', 'Rebalance']) },
  { key: 'whale-alert', name: 'Whale alert', description: 'Alert on large transfers', version: 11, steps: steps(['watch_transfer', 'Watch transfer'], ['score', 'Score'], ['post_alert', 'Post alert']) },
];

const RUN_STATUS: Record<RunStatus, B3osStatus> = {
  // ASSUMPTION: B3OS has no queued state; a run is `running` from creation.
  queued: 'running', running: 'running', waiting: 'waiting', succeeded: 'success',
  failed: 'failure', timed_out: 'failure', cancelled: 'cancelled',
};
// ASSUMPTION: node status words in executionState.
const NODE_STATUS: Record<StepStatus, string> = {
  pending: 'pending', running: 'running', waiting: 'waiting', succeeded: 'success', failed: 'failure',
  timed_out: 'failure', cancelled: 'cancelled', skipped: 'skipped',
};
const NODE_TYPES: Record<string, string> = { task: 'action', wait: 'approval', child: 'subflow' };

interface B3Meta {
  isSimulation: boolean;
  isDustTest: boolean;
  triggerSource: string;
  triggeredBy: string;
  nodeCu: number[];
  propValues: Record<string, unknown>;
}

export async function startB3osSimulator(opts: B3osSimulatorOptions = {}): Promise<B3osSimulator> {
  const seed = opts.seed ?? 1;
  const orgId = opts.orgId ?? 'org_demo';
  const idRng = new Rng(deriveSeed(seed, 'b3os-workflows'));
  const start = opts.start ?? Date.parse('2026-11-16T00:00:00Z');
  const wfInfo = new Map(
    WORKFLOWS.map((w) => {
      const created = start - idRng.int(30, 200) * 86_400_000;
      return [w.key, { id: idRng.uuid(), createdAt: created, updatedAt: created + idRng.int(1, 25) * 86_400_000 }];
    }),
  );
  const users = Array.from({ length: 3 }, () => `usr_${idRng.hex(16)}`);
  let requestSeq = 0;
  let pendingInsert = 0;

  const built = await buildSimulator<B3osTruth>({
    provider: 'b3os',
    opts,
    defaultTokens: ['b3sk_test_token'],
    workflows: WORKFLOWS,
    defaultRateLimit: null,
    hooks: {
      makeId: (rng) => rng.uuid(),
      decorate: (run, world) => {
        const rng = run.rng;
        const isSimulation = rng.chance(0.08);
        const triggerSource = isSimulation ? 'simulation' : rng.pick(['schedule', 'schedule', 'manual', 'webhook', 'onchain_event']);
        const meta: B3Meta = {
          isSimulation,
          isDustTest: !isSimulation && rng.chance(0.05),
          triggerSource,
          triggeredBy: triggerSource === 'manual' || triggerSource === 'simulation' ? rng.pick(users) : 'system',
          nodeCu: run.steps.map(() => Math.round(rng.int(5, 1200)) / 100),
          propValues: { maxSlippageBps: rng.pick([30, 50, 100]), amountUsd: rng.int(10, 5000), chain: rng.pick(['base', 'ethereum', 'arbitrum']) },
        };
        Object.assign(run.meta, meta);
        // ASSUMPTION: a failure where some node succeeded is sometimes reported `partial`.
        if (run.final === 'failed' && run.steps[0]?.final === 'succeeded' && rng.chance(0.25)) {
          run.overrides.push({ at: run.endAt, status: 'failed', raw: 'partial' });
        }
        // ASSUMPTION: sourceRunId marks a re-run of an earlier run.
        if (run.final === 'failed' && rng.chance(0.15)) {
          world.schedule(run.endAt + rng.int(60_000, 30 * 60_000), () => {
            world.createRun({ workflow: run.workflow, retryOf: run });
          });
        }
      },
    },
    api: (world, { tokens }) => {
      const env = (code: number, data: unknown, message: string, headers?: Record<string, string>): HttpReply => ({
        status: code,
        json: { code, data, message, requestId: `req_${(++requestSeq).toString(16).padStart(8, '0')}` },
        headers,
      });
      const paging = (ctx: RequestCtx): { limit: number; offset: number } | HttpReply => {
        const limit = intParam(ctx.q('limit'), 20);
        const offset = intParam(ctx.q('offset'), 0);
        if (!Number.isInteger(limit) || limit < 1) return env(400, null, 'invalid limit');
        if (!Number.isInteger(offset) || offset < 0) return env(400, null, 'invalid offset');
        return { limit: Math.min(limit, 100), offset };
      };
      const routes: RouteDef[] = [
        {
          method: 'GET', path: '/v1/workflows',
          handler: (ctx) => {
            const p = paging(ctx);
            if ('status' in p) return p;
            const all = workflowsJson(world);
            const items = all.slice(p.offset, p.offset + p.limit);
            return env(200, { items, hasMore: p.offset + items.length < all.length, limit: p.limit, offset: p.offset }, 'success');
          },
        },
        {
          method: 'GET', path: '/v1/workflows/:id/runs',
          handler: (ctx) => {
            const wf = world.workflows.find((w) => wfInfo.get(w.key)!.id === ctx.params.id);
            if (!wf) return env(404, null, 'workflow not found');
            const p = paging(ctx);
            if ('status' in p) return p;
            const status = ctx.q('status');
            if (status && !(B3OS_STATUSES as readonly string[]).includes(status)) return env(400, null, `invalid status: ${status}`);
            if (pendingInsert > 0) {
              const n = pendingInsert;
              pendingInsert = 0;
              for (let i = 0; i < n; i++) world.createRun({ workflow: wf });
            }
            const now = world.clock.now();
            let rows = sortedRuns(world).filter((r) => r.workflow === wf && r.createdAt <= now);
            if (status) rows = rows.filter((r) => runJson(world, r).status === status);
            const page = rows.slice(p.offset, p.offset + p.limit).map((r) => runJson(world, r));
            const items = page.map((r) => ctx.maybeCorrupt(r, r.id, corrupt));
            return env(200, { hasMore: p.offset + page.length < rows.length, items, limit: p.limit, offset: p.offset }, 'success');
          },
        },
        {
          method: 'GET', path: '/v1/runs/:id',
          handler: (ctx) => {
            const run = world.byId.get(ctx.params.id);
            if (!run || run.createdAt > world.clock.now()) return env(404, null, 'run not found');
            const summary = ctx.q('summary') === 'true' || ctx.q('summary') === '1';
            const d: B3osRun | B3osRunDetail = summary ? runJson(world, run) : detailJson(world, run);
            return env(200, ctx.maybeCorrupt(d, d.id, corrupt), 'success');
          },
        },
      ];
      return {
        routes,
        style: {
          auth: (ctx) => {
            if (!ctx.token || !tokens.includes(ctx.token)) return env(401, null, 'unauthorized');
            const org = ctx.headers['x-org-id'];
            if (typeof org === 'string' && org !== orgId) return env(403, null, 'organization mismatch');
            return null;
          },
          error: (status, message) => env(status, null, message),
          rateKey: (ctx) => {
            const org = ctx.headers['x-org-id'];
            return typeof org === 'string' ? `org:${org}` : `org:${orgId}`;
          },
          rateLimited: (d) =>
            env(429, null, 'rate limit exceeded', { 'Retry-After': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) }),
        },
      };
    },
    truth: (world) => ({
      workflows: workflowsJson(world),
      runs: allRuns(world).map((r) => detailJson(world, r.run)),
    }),
  });

  function workflowsJson(world: World): B3osWorkflow[] {
    return world.workflows.map((w) => {
      const info = wfInfo.get(w.key)!;
      return {
        id: info.id, name: w.name, description: w.description, status: 'active', version: w.version,
        createdAt: isoMs(info.createdAt), updatedAt: isoMs(info.updatedAt),
      };
    });
  }

  function runJson(world: World, run: WorldRun): B3osRun {
    const v = world.view(run);
    const m = run.meta as unknown as B3Meta;
    const cu = v.steps.reduce((a, s, i) => a + (s.finishedAt !== null && s.startedAt !== null ? m.nodeCu[i] : 0), 0);
    return {
      finishedAt: v.finishedAt !== null ? isoMs(v.finishedAt) : null,
      id: run.id,
      isDustTest: m.isDustTest,
      isSimulation: m.isSimulation,
      sourceRunId: run.retryOf ? run.retryOf.id : null,
      startedAt: isoMs(run.createdAt),
      status: (v.raw as B3osStatus | undefined) ?? RUN_STATUS[v.status],
      totalCu: Math.round(cu * 100) / 100,
      triggerSource: m.triggerSource,
      triggeredBy: m.triggeredBy,
      workflowId: wfInfo.get(run.workflow.key)!.id,
      workflowVersion: run.workflow.version,
    };
  }

  function detailJson(world: World, run: WorldRun): B3osRunDetail {
    const v = world.view(run);
    const m = run.meta as unknown as B3Meta;
    const executionState: Record<string, B3osNodeState> = {};
    const steps = v.steps.length ? v.steps : null;
    run.steps.forEach((plan, i) => {
      const s = steps?.[i];
      const st: B3osNodeState = {
        status: s ? NODE_STATUS[s.status] : 'pending',
        startedAt: s?.startedAt != null ? isoMs(s.startedAt) : null,
        finishedAt: s?.finishedAt != null ? isoMs(s.finishedAt) : null,
      };
      if (s?.error && s.finishedAt !== null) st.error = s.error;
      if (s?.output) st.output = s.output;
      executionState[plan.def.ref] = st;
    });
    return {
      ...runJson(world, run),
      executionState,
      workflowDefinition: {
        id: wfInfo.get(run.workflow.key)!.id,
        version: run.workflow.version,
        nodes: run.workflow.steps.map((s) => ({ id: s.ref, type: NODE_TYPES[s.kind], name: s.name, props: { retries: 2 } })),
        edges: run.workflow.steps.slice(1).map((s, i) => ({ from: run.workflow.steps[i].ref, to: s.ref })),
      },
      propValues: m.propValues,
    };
  }

  /** Newest startedAt first, then id descending (cached; startedAt never changes). */
  function sortedRuns(world: World): WorldRun[] {
    return world.sorted('b3os', (a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  function allRuns(world: World) {
    const now = world.clock.now();
    return sortedRuns(world)
      .filter((r) => r.createdAt <= now)
      .map((run) => ({ run, json: runJson(world, run) }));
  }

  const sim: B3osSimulator = {
    ...built,
    provider: 'b3os',
    insertRunsOnNextListCall(n) {
      pendingInsert += n;
    },
  };
  return sim;
}

/** Corrupted record: id removed, or startedAt of the wrong type (alternating). */
const corrupt = alternatingCorruption('id', 'startedAt', 1700000000, 'startedAt is a number');
