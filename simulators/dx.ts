/**
 * DX Workflows simulator (Slack-style RPC, `{ok: …}` envelope). Base URL for
 * the connector: `sim.url` (http://127.0.0.1:PORT; method paths like
 * /workflowRuns.info, as under https://api.getdx.com).
 *
 * DX documents no way to list runs: run ids reach the connector from
 * elsewhere (workflowRuns.trigger's answer, or dx_workflow_run_id passed to
 * the called system). The hooks trigger(), drainNewRunIds() and truth().runIds
 * stand for those sources.
 */
import { buildSimulator, type Simulator, type SimulatorOptions } from './core/sim.js';
import type { HttpReply, RouteDef } from './core/server.js';
import { alternatingCorruption } from './core/faults.js';
import { Rng, deriveSeed } from './core/rng.js';
import { isoMs } from './core/time.js';
import { steps, type RunStatus, type WorkflowDef, type World, type WorldRun } from './core/world.js';

export interface DxLink {
  url: string;
  icon: string;
  label: string;
}

export interface DxEvent {
  id: string;
  type: 'ADD_LINK' | 'POST_MESSAGE' | 'CHANGE_STATUS';
  occurred_at: string;
  message: string | null;
  data: Record<string, unknown>;
}

export interface DxHttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface DxWorkflow {
  identifier: string;
  name: string;
  description: string;
  icon: string;
  scope: string;
  entity_filter_type: string | null;
  entity_filter_sql: string | null;
  entity_filter_type_identifiers: string[];
  execution_type: string;
  http_request: DxHttpRequest;
  parameters: { identifier: string; name: string; description: string; is_required: boolean; type: string; definition: unknown }[];
}

export interface DxWorkflowRun {
  id: string;
  status: string;
  started_at: string;
  completed_at: string | null;
  data: Record<string, unknown>;
  links: DxLink[];
  http_state: {
    request: DxHttpRequest;
    response: { time_elapsed_seconds: number; is_successful: boolean; status_code: number; headers: Record<string, string>; body: string };
  };
  workflow: DxWorkflow;
  entity: { identifier: string; name: string } | null;
  events: DxEvent[];
  triggered_by_user: { id: number; name: string; email: string; avatar: string; created_at: string };
}

export interface DxTruth {
  /** Every run's `workflow_run`, in creation order. */
  runs: DxWorkflowRun[];
  /** Ids of every run (what an inbox would eventually hold). */
  runIds: string[];
  /** Real-looking credentials some runs carry in http_state.request.headers; none may reach storage. */
  secrets: string[];
}

export interface DxSimulator extends Simulator<DxTruth> {
  provider: 'dx';
  world: World;
  /** Start `n` runs now (mirrors workflowRuns.trigger); returns their ids. */
  trigger(n?: number): string[];
  /** Ids of runs created since the last drain (initial runs included on the first call). */
  drainNewRunIds(): string[];
  /** The next `n` answers (optionally on matching paths) are HTTP 200 `{ok:false, error}`. */
  failNext(n: number, error?: string, path?: RegExp): void;
}

interface WfExtra {
  icon: string;
  scope: 'ENTITY' | 'GLOBAL';
  url: string;
  params: DxWorkflow['parameters'];
}

/** A required workflow parameter, as DX lists them. */
const param = (identifier: string, name: string, description: string, type = 'STRING'): DxWorkflow['parameters'][number] => ({ identifier, name, description, is_required: true, type, definition: null });

const WORKFLOWS: (Omit<WorkflowDef, 'index'> & WfExtra)[] = [
  {
    key: 'provision-single-tenant-instance', name: 'Provision Single-tenant Instance', description: 'Create a new single-tenant instance and associate with an account', version: 1, icon: 'globe', scope: 'ENTITY',
    url: 'https://api.github.com/repos/example-org/acme-app/actions/workflows/provision_single_tenant_instance.yml/dispatches',
    params: [param('app_name', 'App name', 'The all-lowercase name of the app to provision.'), param('account_id', 'Account ID', 'The numeric account ID.', 'INTEGER')],
    steps: steps(['deps', 'Installing dependencies'], ['create_app', 'Creating and configuring app'], ['database', 'Creating database instance'], ['deploy', 'Deploying the app'], ['pr', 'Creating a pull request']),
  },
  {
    key: 'rotate-service-credentials', name: 'Rotate service credentials', description: 'Rotate the credentials of a service', version: 1, icon: 'key', scope: 'ENTITY',
    url: 'https://hooks.example.com/dx/rotate-credentials',
    params: [param('service', 'Service', 'Service identifier.')],
    steps: steps(['generate', 'Generating new credentials'], ['approve', 'Waiting for owner approval', 'wait'], ['rollout', 'Rolling out credentials']),
  },
  {
    key: 'create-sandbox', name: 'Create sandbox', description: 'Spin up a developer sandbox', version: 1, icon: 'box', scope: 'GLOBAL',
    url: 'https://ci.example.com/api/v1/pipelines/sandbox/trigger',
    params: [param('owner', 'Owner', 'Sandbox owner e-mail.')],
    steps: steps(['allocate', 'Allocating resources'], ['seed', 'Seeding data']),
  },
];

// Documented: SUCCEEDED, FAILED. ASSUMPTION: an unfinished run reads RUNNING.
const STATUS: Record<RunStatus, string> = {
  queued: 'RUNNING', running: 'RUNNING', waiting: 'RUNNING', succeeded: 'SUCCEEDED',
  failed: 'FAILED', timed_out: 'FAILED', cancelled: 'FAILED',
};

const ENTITIES = [
  { identifier: 'acme-app', name: 'ACME App' },
  { identifier: 'billing-api', name: 'Billing API' },
  { identifier: 'search-svc', name: 'Search Service' },
];
const PEOPLE = ['Sol LeWitt', 'Agnes Martin', 'Donald Judd', 'Eva Hesse'];

interface DxMeta {
  eventIds: string[];
  data: Record<string, unknown>;
  entity: { identifier: string; name: string } | null;
  user: DxWorkflowRun['triggered_by_user'];
  secret: { header: string; value: string } | null;
  ghRunId: number;
  prNumber: number | null;
  elapsed: number;
  responseStatus: number;
}

export async function startDxSimulator(opts: SimulatorOptions = {}): Promise<DxSimulator> {
  const seed = opts.seed ?? 1;
  const uRng = new Rng(deriveSeed(seed, 'dx-users'));
  const users = PEOPLE.map((name) => ({
    id: uRng.int(1_000_000, 9_999_999),
    name,
    email: `${name.toLowerCase().replace(/\s+/g, '.')}@example.com`,
    avatar: `https://avatars.slack-edge.com/2024-11-29/${uRng.int(1e12, 9e12)}_${uRng.hex(20)}_72.jpg`,
    created_at: isoMs(Date.parse('2024-11-23T00:00:16.412Z') + uRng.int(0, 200) * 86_400_000),
  }));
  const wfExtra = new Map(WORKFLOWS.map((w) => [w.key, w]));
  let drained = 0;

  const built = await buildSimulator<DxTruth>({
    provider: 'dx',
    opts,
    defaultTokens: ['dx_test_token'],
    workflows: WORKFLOWS.map(({ key, name, description, version, steps }) => ({ key, name, description, version, steps })),
    // Documented: 1000 requests/minute per account, sliding window.
    defaultRateLimit: { limit: 1000, windowMs: 60_000, mode: 'sliding' },
    hooks: {
      makeId: (rng) => rng.base36(12),
      decorate: (run) => {
        const rng = run.rng;
        const x = wfExtra.get(run.workflow.key)!;
        const data: Record<string, unknown> = {};
        for (const p of x.params) {
          data[p.identifier] = p.type === 'INTEGER' ? rng.int(1000, 9999) : `${rng.pick(['stewart', 'nova', 'orbit', 'delta'])}-${rng.base36(4)}`;
        }
        const secretKind = rng.chance(0.3) ? rng.pick(['x-api-key', 'bearer']) : null;
        const meta: DxMeta = {
          eventIds: Array.from({ length: run.steps.length + 4 }, () => rng.base36(12)),
          data,
          entity: x.scope === 'ENTITY' ? rng.pick(ENTITIES) : null,
          user: rng.pick(users),
          secret:
            secretKind === 'x-api-key'
              ? { header: 'X-Api-Key', value: `dxsecret_${rng.hex(32)}` }
              : secretKind === 'bearer'
                ? { header: 'Authorization', value: `Bearer ghp_${rng.alnum(36)}` }
                : null,
          ghRunId: rng.int(16_000_000_000, 16_999_999_999),
          prNumber: x.key === 'provision-single-tenant-instance' ? rng.int(1000, 9999) : null,
          elapsed: rng.int(80, 2500) / 10_000,
          responseStatus: x.url.includes('github.com') ? 204 : 200,
        };
        Object.assign(run.meta, meta);
      },
    },
    api: (world, { tokens }) => {
      const notOk = (error: string, status = 200): HttpReply => ({ status, json: { ok: false, error } });
      const routes: RouteDef[] = [
        {
          method: 'GET', path: '/workflowRuns.info',
          handler: (ctx) => {
            const id = ctx.q('id');
            // ASSUMPTION: Slack-style names for a missing argument / unknown id.
            if (!id) return notOk('invalid_arguments');
            const run = world.byId.get(id);
            if (!run || run.createdAt > world.clock.now()) return notOk('not_found');
            const wr = runJson(world, run);
            return { status: 200, json: { ok: true, workflow_run: ctx.maybeCorrupt(wr, wr.id, corrupt) } };
          },
        },
      ];
      return {
        routes,
        style: {
          auth: (ctx) => {
            if (!ctx.token) return notOk('not_authed');
            if (!tokens.includes(ctx.token)) return notOk('invalid_auth');
            return null;
          },
          // Errors come as HTTP 200 with ok:false, except injected HTTP-level faults.
          error: (status, message) => (status === 404 ? notOk('unknown_method') : notOk(message.replace(/\s+/g, '_'), status)),
          // Per account: every token of the simulated account shares one window.
          rateKey: () => 'account',
          // ASSUMPTION: body of the 429; no Retry-After is documented, none is sent.
          rateLimited: () => notOk('ratelimited', 429),
        },
      };
    },
    truth: (world) => {
      const runs = world.existing().map((r) => runJson(world, r));
      const secrets = world
        .existing()
        .map((r) => (r.meta as unknown as DxMeta).secret?.value)
        .filter((v): v is string => !!v);
      return { runs, runIds: runs.map((r) => r.id), secrets };
    },
  });

  function runJson(world: World, run: WorldRun): DxWorkflowRun {
    const v = world.view(run);
    const m = run.meta as unknown as DxMeta;
    const x = wfExtra.get(run.workflow.key)!;
    const now = world.clock.now();
    const templateHeaders = { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: '[REDACTED]' };
    const reqHeaders: Record<string, string> = { ...templateHeaders };
    if (m.secret) reqHeaders[m.secret.header] = m.secret.value;
    const inputs = (values: Record<string, unknown>, runId: string) =>
      JSON.stringify({ ref: 'master', inputs: { dx_workflow_run_id: runId, ...Object.fromEntries(Object.entries(values).map(([k, val]) => [k, String(val)])) } }, null, 1) + '\n';
    const events: DxEvent[] = [];
    const links: DxLink[] = [];
    let e = 0;
    const ghLink: DxLink = { url: `https://github.com/example-org/acme-app/actions/runs/${m.ghRunId}`, icon: 'github', label: 'GitHub Actions Workflow' };
    for (const s of v.steps) {
      if (s.startedAt === null || s.startedAt > now) continue;
      if (s.plan.index === 0) {
        events.push({ id: m.eventIds[e++], type: 'ADD_LINK', occurred_at: isoMs(s.startedAt), message: null, data: { link: ghLink } });
        links.push(ghLink);
      }
      events.push({ id: m.eventIds[e++], type: 'POST_MESSAGE', occurred_at: isoMs(s.startedAt + 120), message: `${s.plan.def.name}...`, data: {} });
      if (s.plan.def.ref === 'pr' && m.prNumber !== null && s.finishedAt !== null && s.status === 'succeeded') {
        const pr: DxLink = { url: `https://github.com/example-org/acme-app/pull/${m.prNumber}`, icon: 'github', label: 'Pull Request' };
        events.push({ id: m.eventIds[e++], type: 'ADD_LINK', occurred_at: isoMs(s.finishedAt - 50), message: null, data: { link: pr } });
        links.push(pr);
      }
    }
    const status = v.raw ?? STATUS[v.status];
    if (v.finishedAt !== null) {
      events.push({ id: m.eventIds[e++], type: 'CHANGE_STATUS', occurred_at: isoMs(v.finishedAt - 3), message: null, data: { status } });
    }
    const started = run.createdAt;
    return {
      id: run.id,
      status,
      started_at: isoMs(started),
      completed_at: v.finishedAt !== null ? isoMs(v.finishedAt) : null,
      data: m.data,
      links,
      http_state: {
        request: { method: 'POST', url: x.url, headers: reqHeaders, body: inputs(m.data, run.id) },
        response: {
          time_elapsed_seconds: m.elapsed,
          is_successful: true,
          status_code: m.responseStatus,
          headers: { Date: new Date(started).toUTCString(), Server: x.url.includes('github.com') ? 'github.com' : 'nginx', Connection: 'close' },
          body: '',
        },
      },
      workflow: {
        identifier: run.workflow.key,
        name: run.workflow.name,
        description: run.workflow.description,
        icon: x.icon,
        scope: x.scope,
        entity_filter_type: x.scope === 'ENTITY' ? 'ENTITY_TYPES' : null,
        entity_filter_sql: null,
        entity_filter_type_identifiers: x.scope === 'ENTITY' ? ['service'] : [],
        execution_type: 'EVENT_DRIVEN',
        http_request: {
          method: 'POST', url: x.url, headers: templateHeaders,
          body: inputs(Object.fromEntries(x.params.map((p) => [p.identifier, ''])), ''),
        },
        parameters: x.params,
      },
      entity: m.entity,
      events,
      triggered_by_user: m.user,
    };
  }

  const world = built.world;
  const sim: DxSimulator = {
    ...built,
    provider: 'dx',
    trigger(n = 1) {
      return Array.from({ length: n }, () => world.createRun().id);
    },
    drainNewRunIds() {
      const ids = world.existing().slice(drained).map((r) => r.id);
      drained += ids.length;
      return ids;
    },
    failNext(n, error = 'internal_error', path) {
      built.faults.add({ status: 200, body: JSON.stringify({ ok: false, error }), times: n, path });
    },
  };
  return sim;
}

/** Corrupted record: id removed, or started_at of the wrong type (alternating). */
const corrupt = alternatingCorruption('id', 'started_at', 12345, 'started_at is a number');
