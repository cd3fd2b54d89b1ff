/**
 * Anon v2 simulator. Base URL for the connector: `sim.url` =
 * http://127.0.0.1:PORT/api/v2 (paths relative to it: /workflow-runs/{uuid}).
 *
 * The run detail follows the docs exactly. The LIST endpoint exists but its
 * path, parameters and paging are NOT documented: everything about it here is
 * an assumption, configurable through `list` so a connector's paging
 * configuration can be tested against different shapes.
 */
import { buildSimulator, intParam, type Simulator, type SimulatorOptions } from './core/sim.js';
import type { HttpReply, RouteDef } from './core/server.js';
import { alternatingCorruption } from './core/faults.js';
import { Rng, deriveSeed } from './core/rng.js';
import { isoSeconds } from './core/time.js';
import { steps, type RunStatus, type WorkflowDef, type World, type WorldRun } from './core/world.js';

export const ANON_STATUSES = ['PENDING', 'IN_PROGRESS', 'AWAITING_USER_INPUT', 'COMPLETED', 'COMPLETED_WITH_NO_ACTION_TAKEN', 'FAILED'] as const;
export type AnonStatus = (typeof ANON_STATUSES)[number];

export interface AnonRun {
  id: string;
  workflowId: string;
  status: AnonStatus;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
  createdByUserId: string;
  jobRunId: string | null;
  currentStateName: string | null;
}

export interface AnonTruth {
  /** Every run, newest createdAt first (the assumed list order). */
  runs: AnonRun[];
}

/** ASSUMPTION: shape of the undocumented list endpoint. */
export interface AnonListOptions {
  /** `cursor` (default): `?limit=&cursor=` → `{data, nextCursor}`; `page`: `?page=&pageSize=` → `{items, total, page, pageSize}`. */
  style?: 'cursor' | 'page';
  /** Path under /api/v2 (default `/workflow-runs`). */
  path?: string;
  /** Query parameter names. */
  params?: { limit?: string; cursor?: string; page?: string; pageSize?: string };
  /** Answer field names. */
  fields?: { items?: string; nextCursor?: string; total?: string };
  /** Default 50. */
  defaultLimit?: number;
  /** Default 100. */
  maxLimit?: number;
}

export interface AnonSimulatorOptions extends SimulatorOptions {
  list?: AnonListOptions;
}

export interface AnonSimulator extends Simulator<AnonTruth> {
  provider: 'anon';
  world: World;
  /** The list configuration in force (defaults filled in). */
  list: Required<Omit<AnonListOptions, 'params' | 'fields'>> & {
    params: Required<NonNullable<AnonListOptions['params']>>;
    fields: Required<NonNullable<AnonListOptions['fields']>>;
  };
}

const WORKFLOWS: Omit<WorkflowDef, 'index'>[] = [
  { key: 'payroll-export', name: 'Payroll export', description: 'Export payroll statements', version: 1, steps: steps(['login', 'Logging in'], ['mfa', 'Waiting for 2FA code', 'wait'], ['extract', 'Extracting statements'], ['upload', 'Uploading results']) },
  { key: 'invoice-download', name: 'Invoice download', description: 'Download vendor invoices', version: 1, steps: steps(['login', 'Logging in'], ['navigate', 'Navigating to billing'], ['download', 'Downloading invoices']) },
  { key: 'profile-update', name: 'Profile update', description: 'Update a profile on a partner site', version: 1, steps: steps(['login', 'Logging in'], ['mfa', 'Waiting for 2FA code', 'wait'], ['update', 'Updating profile']) },
];

const STATUS: Record<RunStatus, AnonStatus> = {
  queued: 'PENDING', running: 'IN_PROGRESS', waiting: 'AWAITING_USER_INPUT', succeeded: 'COMPLETED',
  // Anon has no cancelled or timed-out status: both read as FAILED.
  failed: 'FAILED', timed_out: 'FAILED', cancelled: 'FAILED',
};

interface AnonMeta {
  withMs: boolean;
  createdByUserId: string;
  jobRunId: string | null;
}

const UUID_RE = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000)$/;

export async function startAnonSimulator(opts: AnonSimulatorOptions = {}): Promise<AnonSimulator> {
  const seed = opts.seed ?? 1;
  const idRng = new Rng(deriveSeed(seed, 'anon-workflows'));
  const wfIds = new Map(WORKFLOWS.map((w) => [w.key, idRng.uuid()]));
  const users = Array.from({ length: 4 }, () => idRng.uuid());
  const list: AnonSimulator['list'] = {
    style: opts.list?.style ?? 'cursor',
    path: opts.list?.path ?? '/workflow-runs',
    params: { limit: 'limit', cursor: 'cursor', page: 'page', pageSize: 'pageSize', ...(opts.list?.params ?? {}) },
    fields: {
      items: opts.list?.style === 'page' ? 'items' : 'data',
      nextCursor: 'nextCursor',
      total: 'total',
      ...(opts.list?.fields ?? {}),
    },
    defaultLimit: opts.list?.defaultLimit ?? 50,
    maxLimit: opts.list?.maxLimit ?? 100,
  };

  const built = await buildSimulator<AnonTruth>({
    provider: 'anon',
    opts,
    defaultTokens: ['anon_test_token'],
    basePath: '/api/v2',
    workflows: WORKFLOWS,
    outcomes: { succeeded: 0.78, failed: 0.22, timed_out: 0, cancelled: 0 },
    hooks: {
      makeId: (rng) => rng.uuid(),
      decorate: (run) => {
        const rng = run.rng;
        const meta: AnonMeta = {
          withMs: rng.chance(0.3),
          createdByUserId: rng.pick(users),
          jobRunId: rng.chance(0.6) ? rng.uuid() : null,
        };
        Object.assign(run.meta, meta);
        if (run.final === 'succeeded' && rng.chance(0.15)) {
          run.overrides.push({ at: run.endAt, status: 'succeeded', raw: 'COMPLETED_WITH_NO_ACTION_TAKEN' });
        }
      },
    },
    api: (world, { tokens }) => {
      const msg = (status: number, message: string): HttpReply => ({ status, json: { message } });
      const base = '/api/v2';
      const routes: RouteDef[] = [
        {
          method: 'GET', path: base + list.path,
          handler: (ctx) => {
            const now = world.clock.now();
            const rows = sortedRuns(world).filter((r) => r.createdAt <= now);
            const corruptAll = (items: WorldRun[]) =>
              items.map((r) => {
                const json = runJson(world, r);
                return ctx.maybeCorrupt(json, json.id, corrupt);
              });
            if (list.style === 'page') {
              const page = intParam(ctx.q(list.params.page), 1);
              const size = intParam(ctx.q(list.params.pageSize), list.defaultLimit);
              if (!Number.isInteger(page) || page < 1) return msg(400, `invalid ${list.params.page}`);
              if (!Number.isInteger(size) || size < 1) return msg(400, `invalid ${list.params.pageSize}`);
              const n = Math.min(size, list.maxLimit);
              const items = rows.slice((page - 1) * n, page * n);
              return {
                status: 200,
                json: { [list.fields.items]: corruptAll(items), [list.fields.total]: rows.length, page, pageSize: n },
              };
            }
            const limit = intParam(ctx.q(list.params.limit), list.defaultLimit);
            if (!Number.isInteger(limit) || limit < 1) return msg(400, `invalid ${list.params.limit}`);
            const n = Math.min(limit, list.maxLimit);
            let rest = rows;
            const c = ctx.q(list.params.cursor);
            if (c) {
              const key = decodeCursor(c);
              if (!key) return msg(400, 'invalid cursor');
              rest = rows.filter((r) => cmp(r, key) > 0);
            }
            const page = rest.slice(0, n);
            const more = rest.length > n;
            return {
              status: 200,
              json: {
                [list.fields.items]: corruptAll(page),
                [list.fields.nextCursor]: more ? encodeCursor(page[page.length - 1]) : null,
              },
            };
          },
        },
        {
          method: 'GET', path: `${base}/workflow-runs/:id`,
          handler: (ctx) => {
            const id = ctx.params.id;
            if (!UUID_RE.test(id)) return msg(400, 'id must be a valid uuid');
            const run = world.byId.get(id.toLowerCase());
            if (!run || run.createdAt > world.clock.now()) return msg(404, 'Workflow run not found');
            const json = runJson(world, run);
            return { status: 200, json: ctx.maybeCorrupt(json, json.id, corrupt) };
          },
        },
      ];
      return {
        routes,
        style: {
          auth: (ctx) => (ctx.token && tokens.includes(ctx.token) ? null : msg(401, 'Unauthorized')),
          error: (status, message) => msg(status, message),
          // No documented limit: a configured one answers a plain 429 without Retry-After.
          rateLimited: () => msg(429, 'Too Many Requests'),
        },
      };
    },
    truth: (world) => ({ runs: allRuns(world).map((r) => r.json) }),
  });

  function runJson(world: World, run: WorldRun): AnonRun {
    const v = world.view(run);
    const m = run.meta as unknown as AnonMeta;
    const fmt = (t: number) => isoSeconds(m.withMs ? t : Math.floor(t / 1000) * 1000, m.withMs);
    const status = (v.raw as AnonStatus | undefined) ?? STATUS[v.status];
    const cur = v.currentStep;
    return {
      id: run.id,
      workflowId: wfIds.get(run.workflow.key)!,
      status,
      completedAt: v.finishedAt !== null ? fmt(v.finishedAt) : null,
      createdAt: fmt(run.createdAt),
      updatedAt: fmt(v.updatedAt),
      createdByUserId: m.createdByUserId,
      jobRunId: m.jobRunId,
      currentStateName: cur ? cur.plan.def.name : null,
    };
  }

  function sortedRuns(world: World): WorldRun[] {
    return world.sorted('anon', (a, b) => cmp(a, { c: b.createdAt, id: b.id }));
  }

  function allRuns(world: World): { run: WorldRun; json: AnonRun }[] {
    const now = world.clock.now();
    return sortedRuns(world)
      .filter((r) => r.createdAt <= now)
      .map((run) => ({ run, json: runJson(world, run) }));
  }

  const sim: AnonSimulator = { ...built, provider: 'anon', list };
  return sim;
}

/** Keyset order: createdAt DESC, id DESC. */
function cmp(a: WorldRun, key: { c: number; id: string }): number {
  if (a.createdAt !== key.c) return key.c - a.createdAt;
  return a.id < key.id ? 1 : a.id > key.id ? -1 : 0;
}

function encodeCursor(run: WorldRun): string {
  return Buffer.from(JSON.stringify({ c: run.createdAt, id: run.id })).toString('base64url');
}

function decodeCursor(s: string): { c: number; id: string } | null {
  try {
    const k = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    return typeof k?.c === 'number' && typeof k?.id === 'string' ? k : null;
  } catch {
    return null;
  }
}

/** Corrupted record: id removed, or createdAt of the wrong type (alternating). */
const corrupt = alternatingCorruption('id', 'createdAt', 42, 'createdAt is a number');
