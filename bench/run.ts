/**
 * Benchmark: figures, not assertions. Whole `runsync sync --once` processes, as a user runs
 * them (embedded Temporal dev server and chDB, fresh data directory), next to a raw replay of
 * exactly the requests each sync made (same order, 4 in flight, JSON parsed and dropped, in a
 * fresh Node process). Scenarios: one Strait simulator, and all five providers. Then: a sync
 * inside a running process (start-up paid once), peak RSS as the data grows, the same Strait
 * job with dlt, pacing at the default ceiling against a Strait allowing 50 requests a second,
 * and the row writer's raw insert throughput. Everything on 127.0.0.1.
 * Usage: npm run bench [-- --rounds 2 --strait-runs 1180 --five-runs 2800 --insert-rows 100000 --no-dlt --no-pacing]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startStraitSimulator } from '../simulators/strait.js';
import type { TracecatSimulator } from '../simulators/tracecat.js';
import type { Simulator } from '../simulators/core/sim.js';
import { startScenarioSims, SCENARIO_PROVIDERS } from '../test/helpers/scenarios.js';
import { startDevServer, type DevServer } from '../runtime/temporal-server.js';
import { syncWorkflowId } from '../workflows/ids.js';
import type { SourceOutcome } from '../runtime/run-sync.js';
import { measure, stopRunning, type ProcessFigures } from './measure.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    'strait-runs': { type: 'string', default: '1180' },
    'five-runs': { type: 'string', default: '2800' },
    'insert-rows': { type: 'string', default: '100000' },
    seed: { type: 'string', default: '3' },
    'no-dlt': { type: 'boolean', default: false },
    'no-pacing': { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(1, Number(values.rounds));
const STRAIT_RUNS = Number(values['strait-runs']);
const FIVE_RUNS = Number(values['five-runs']);
const SEED = Number(values.seed);
const DLT_PIN = 'dlt[duckdb]==1.31.0';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'bin', 'runsync.js');
const work = mkdtempSync(join(tmpdir(), 'runsync-bench-'));
const note = (m: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);

// Everything to undo, newest first, also on Ctrl-C.
const undo: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
let cleaning: Promise<void> | null = null;
let signalled = false;
const cleanup = () =>
  (cleaning ??= (async () => {
    await stopRunning();
    for (const u of undo.reverse()) await Promise.resolve().then(u).catch(() => undefined);
  })());
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    signalled = true;
    note(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------
// Scenarios: simulators, a config file pointing at them, and the requests they answered.

interface Source {
  name: string;
  provider: string;
  sim: Simulator;
  options: Record<string, unknown>;
}

interface Scenario {
  label: string;
  sources: Source[];
  /** Run ids handed to the DX source before each first sync (DX cannot list its runs). */
  dxIds: string[];
  size: string;
}

const tokenEnvOf = (src: Source) => `BENCH_${src.name.toUpperCase().replace(/\W/g, '_')}_TOKEN`;

/** Defaults except a request-rate ceiling high enough that pacing is not what is measured (`paced`: the default ceiling). */
function writeConfig(s: Scenario, dir: string, paced = false): string {
  const file = join(dir, 'runsync.config.json');
  mkdirSync(dir, { recursive: true });
  const sources = s.sources.map((src) => ({
    name: src.name, provider: src.provider, baseUrl: src.sim.url, tokenEnv: tokenEnvOf(src),
    options: src.options, backfill: '30d', ...(paced ? {} : { rateLimit: 5000 }),
  }));
  writeFileSync(file, JSON.stringify({ dataDir: join(dir, 'data'), sources }, null, 2));
  return file;
}

/** The sources' tokens, as a deployment's environment would hold them, and quiet logs. */
const env = (s: Scenario): Record<string, string> => ({
  ...Object.fromEntries(s.sources.map((src) => [tokenEnvOf(src), src.sim.token])),
  RUNSYNC_LOG_LEVEL: 'warn',
  RUNSYNC_TEMPORAL_LOG: 'ERROR',
});

const clearLogs = (s: Scenario) => s.sources.forEach((src) => src.sim.clearRequests());

/** The requests answered since the logs were cleared, as absolute URLs with their token, in the order answered. */
function capture(s: Scenario): { url: string; token: string }[] {
  const out: { url: string; token: string }[] = [];
  for (const src of s.sources) {
    const origin = new URL(src.sim.url).origin;
    for (const r of src.sim.requests) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(r.query)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
      const qs = q.toString();
      out.push({ url: `${origin}${r.path}${qs ? `?${qs}` : ''}`, token: src.sim.token });
    }
  }
  // Each simulator's log is in its own answer order; the syncs of several sources run side by
  // side, but the logs hold no common clock, so the replay takes them source after source.
  return out;
}

// ---------------------------------------------------------------------------------------
// Measurements

interface SyncFigures extends ProcessFigures {
  requests: number;
  apiCalls: number;
  rows: number;
  startedAt: number;
  endedAt: number;
}

async function track(s: Scenario, config: string, dataDir: string): Promise<void> {
  const dx = s.sources.find((src) => src.provider === 'dx');
  if (!dx || s.dxIds.length === 0) return;
  const r = await measure(process.execPath, [CLI, 'track', dx.name, ...s.dxIds, '--config', config, '--data-dir', dataDir], { env: env(s), cwd: REPO });
  if (r.code !== 0) throw new Error(`runsync track failed: ${r.stderr.trim().split('\n').pop()}`);
}

let usageSeq = 0;
async function cliSync(s: Scenario, config: string, dataDir: string): Promise<SyncFigures> {
  clearLogs(s);
  const startedAt = Date.now();
  const r = await measure(process.execPath, [CLI, 'sync', '--once', '--json', '--config', config, '--data-dir', dataDir], {
    env: env(s), cwd: REPO, node: true, usageFile: join(work, `usage-${usageSeq++}.json`), timeoutMs: 300_000,
  });
  const endedAt = Date.now();
  if (r.code !== 0) throw new Error(`runsync sync --once exited ${r.code ?? r.signal}: ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ')}`);
  const outcomes = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as SourceOutcome[];
  return {
    ...r,
    requests: s.sources.reduce((a, src) => a + src.sim.requests.length, 0),
    apiCalls: outcomes.reduce((a, o) => a + (o.counts?.api_calls ?? 0), 0),
    rows: outcomes.reduce((a, o) => a + (o.counts?.rows_written ?? 0), 0),
    startedAt,
    endedAt,
  };
}

async function replay(requests: { url: string; token: string }[], tag: string): Promise<ProcessFigures> {
  const file = join(work, `requests-${tag}.json`);
  writeFileSync(file, JSON.stringify(requests));
  const r = await measure(process.execPath, [join(REPO, 'bench', 'replay.mjs'), file], { cwd: REPO, node: true, usageFile: join(work, `usage-${usageSeq++}.json`) });
  if (r.code !== 0) throw new Error(`raw replay exited ${r.code}: ${r.stderr.trim().split('\n').pop()}`);
  const out = JSON.parse(r.stdout) as { failed: number };
  if (out.failed) note(`raw replay ${tag}: ${out.failed} answers were not 2xx`);
  return r;
}

/** Sum of the Temporal history lengths of the sync executions started within each window (continue-as-new included). */
async function historyLengths(s: Scenario, dataDir: string, windows: { from: number; to: number }[]): Promise<{ events: number; executions: number }[]> {
  let server: DevServer | null = null;
  let connection: Connection | null = null;
  const stop = async () => {
    await connection?.close().catch(() => undefined);
    await server?.stop();
  };
  undo.push(stop);
  try {
    server = await startDevServer({ dataDir, log: () => undefined });
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const out = windows.map(() => ({ events: 0, executions: 0 }));
    for (const src of s.sources) {
      for await (const wf of client.workflow.list({ query: `WorkflowId = '${syncWorkflowId(src.name)}'` })) {
        const at = wf.startTime.getTime();
        const i = windows.findIndex((w) => at >= w.from && at <= w.to);
        if (i < 0) continue;
        const d = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
        out[i].events += d.historyLength;
        out[i].executions++;
      }
    }
    return out;
  } finally {
    await stop();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Row {
  label: string;
  wallS: number[];
  cpuS: number[];
  rssMb: number | null;
  requests: number | null;
  rows: number | null;
  history: string;
  rawWallS: number[];
  rawCpuS: number[];
  /** What the speed targets ask of this line. */
  target: string;
}

const rows: Row[] = [];
const notes: string[] = [];

/** `eachRound` runs after each round's raw replay, so a third contender (dlt) alternates with both. */
async function runScenario(s: Scenario, eachRound?: (round: number) => Promise<void>): Promise<{ firstWallS: number[]; rssMb: number; rootRssMb: number }> {
  const dir = join(work, s.label.replace(/\W+/g, '-'));
  const config = writeConfig(s, dir);
  const firsts: SyncFigures[] = [];
  const raws: ProcessFigures[] = [];
  let firstRequests: { url: string; token: string }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const dataDir = join(dir, `data-${r}`);
    await track(s, config, dataDir);
    note(`${s.label}: first sync --once, round ${r + 1}/${ROUNDS}`);
    const f = await cliSync(s, config, dataDir);
    firsts.push(f);
    if (r === 0) firstRequests = capture(s);
    else if (f.requests !== firstRequests.length) notes.push(`${s.label}: round ${r + 1} made ${f.requests} requests, round 1 ${firstRequests.length}`);
    note(`${s.label}: raw replay of its ${firstRequests.length} requests, round ${r + 1}/${ROUNDS}`);
    raws.push(await replay(firstRequests, `${s.label}-first-${r}`));
    await eachRound?.(r);
  }
  note(`${s.label}: no-change sync`);
  const again = await cliSync(s, config, join(dir, 'data-0'));
  const againRequests = capture(s);
  const againRaw = againRequests.length ? await replay(againRequests, `${s.label}-again`) : null;
  note(`${s.label}: Temporal history (dev server on the first data directory)`);
  const [h1, h2] = await historyLengths(s, join(dir, 'data-0'), [
    { from: firsts[0].startedAt, to: firsts[0].endedAt },
    { from: again.startedAt, to: again.endedAt },
  ]);
  const hist = (h: { events: number; executions: number }) => `${h.events} events${h.executions === 1 ? '' : ` in ${h.executions} runs`}`;
  rows.push({
    label: `${s.label}: first sync --once`,
    wallS: firsts.map((f) => f.wallMs / 1000), cpuS: firsts.map((f) => f.cpuMs / 1000),
    rssMb: Math.max(...firsts.map((f) => f.peakTreeRssMb)), requests: firsts[0].requests, rows: firsts[0].rows, history: hist(h1),
    rawWallS: raws.map((x) => x.wallMs / 1000), rawCpuS: raws.map((x) => x.cpuMs / 1000), target: s.sources.length > 1 ? 'wall ≤ 3×' : 'wall ≤ 2.5×',
  });
  rows.push({
    label: `${s.label}: no-change sync`,
    wallS: [again.wallMs / 1000], cpuS: [again.cpuMs / 1000], rssMb: again.peakTreeRssMb, requests: again.requests, rows: again.rows, history: hist(h2),
    rawWallS: againRaw ? [againRaw.wallMs / 1000] : [], rawCpuS: againRaw ? [againRaw.cpuMs / 1000] : [], target: '0 rows',
  });
  if (firsts[0].apiCalls !== firsts[0].requests) notes.push(`${s.label}: runsync counted ${firsts[0].apiCalls} API calls, the simulators answered ${firsts[0].requests} requests`);
  const f0 = firsts[0];
  const kids = Object.entries(f0.children).map(([n, mb]) => `${n} ${mb.toFixed(0)}`).join(', ');
  notes.push(`${s.label}: peak RSS of the first sync = runsync process ${f0.peakRootRssMb.toFixed(0)} MiB + children (${kids || 'none'} MiB peak each), sampled sum ${f0.peakTreeRssMb.toFixed(0)} MiB`);
  return { firstWallS: firsts.map((f) => f.wallMs / 1000), rssMb: f0.peakTreeRssMb, rootRssMb: f0.peakRootRssMb };
}

function straitScenario(label: string, sim: Simulator): Scenario {
  const sources: Source[] = [{ name: 'strait-bench', provider: 'strait', sim, options: { projectId: 'proj_demo' } }];
  const truth = (sim as Simulator<{ runs: unknown[]; steps: Record<string, unknown[]> }>).truth();
  const steps = Object.values(truth.steps).reduce((a, x) => a + x.length, 0);
  return { label, sources, dxIds: [], size: `${truth.runs.length} runs, ${steps} steps` };
}

async function startStrait(runs: number, seed: number): Promise<Simulator> {
  // Time stands still (no new runs), the newest few runs are still open at the provider.
  const sim = await startStraitSimulator({ seed, initialRuns: runs, runsPerHour: 0, start: Date.now() - 3_600_000, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  undo.push(() => sim.close());
  return sim;
}

/**
 * Syncs and raw replays inside one running process: start-up already paid. Its first sync, then
 * a later one of the same data from a second simulator (same seed, another source name): what
 * a scheduled sync meets in a service that has synced before.
 */
async function serviceCase(s: Scenario, insertRows: number): Promise<void> {
  const dir = join(work, 'service');
  const secondSim = await startStrait(STRAIT_RUNS, SEED);
  const second = straitScenario(s.label, secondSim);
  second.sources[0].name = 'strait-later';
  const both: Scenario = { ...s, sources: [...s.sources, ...second.sources] };
  const config = writeConfig(both, dir);
  const dataDir = join(dir, 'data');
  await track(s, config, dataDir);
  clearLogs(both);
  note(`${s.label}: syncs inside a running process (start-up paid first)`);
  const lines: Record<string, { wallMs: number; cpuMs: number; rows?: number; startupMs?: number }> = {};
  const requests: Record<string, { url: string; token: string }[]> = {};
  const r = await measure(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'service-sync.ts'), config, dataDir, String(insertRows), s.sources[0].name, second.sources[0].name], {
    env: env(both), cwd: REPO, ipc: true, timeoutMs: 300_000,
    onLine: (line, child) => {
      if (!line.startsWith('{')) return;
      const m = JSON.parse(line) as { phase: string; wallMs: number; cpuMs: number };
      lines[m.phase] = m;
      if (m.phase === 'full' || m.phase === 'later' || m.phase === 'again') {
        requests[m.phase] = capture(both);
        clearLogs(both);
        if (m.phase !== 'again') child.send('go');
      }
    },
  });
  if (r.code !== 0 || !lines.full || !lines.later || !lines.again) throw new Error(`the in-process sync exited ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const raw = await replay(requests.full, 'service-full');
  const rawLater = await replay(requests.later, 'service-later');
  const rawAgain = requests.again.length ? await replay(requests.again, 'service-again') : null;
  rows.push({
    label: `${s.label}: first sync in a running process`,
    wallS: [lines.full.wallMs / 1000], cpuS: [lines.full.cpuMs / 1000], rssMb: r.peakTreeRssMb, requests: requests.full.length, rows: lines.full.rows ?? null, history: '',
    rawWallS: [raw.wallMs / 1000], rawCpuS: [raw.cpuMs / 1000], target: 'wall ≤ 1.3×',
  });
  rows.push({
    label: `${s.label}: later sync in a running process`,
    wallS: [lines.later.wallMs / 1000], cpuS: [lines.later.cpuMs / 1000], rssMb: null, requests: requests.later.length, rows: lines.later.rows ?? null, history: '',
    rawWallS: [rawLater.wallMs / 1000], rawCpuS: [rawLater.cpuMs / 1000], target: 'wall ≤ 1.3×',
  });
  rows.push({
    label: `${s.label}: no-change, running process`,
    wallS: [lines.again.wallMs / 1000], cpuS: [lines.again.cpuMs / 1000], rssMb: null, requests: requests.again.length, rows: lines.again.rows ?? null, history: '',
    rawWallS: rawAgain ? [rawAgain.wallMs / 1000] : [], rawCpuS: rawAgain ? [rawAgain.cpuMs / 1000] : [], target: '0 rows',
  });
  notes.push(`${s.label}, running process: start-up (warehouse, Temporal dev server, worker) took ${(lines.full.startupMs! / 1000).toFixed(1)} s before the timed syncs; CPU counts the process and its dev server`);
  notes.push(`${s.label}, later sync in a running process: the same data from a second simulator under another source name, synced right after the process's first sync (code compiled, caches warm)`);
  if (lines.insert) notes.push(`row writer: ${lines.insert.rows ?? insertRows} event rows inserted in ${(lines.insert.wallMs / 1000).toFixed(2)} s = ${Math.round(insertRows / (lines.insert.wallMs / 1000))} rows/s (embedded chDB)`);
}

/**
 * Pacing at defaults: the same Strait job against a Strait that allows 50 requests a second
 * (sliding window), with runsync's default ceiling. The time it needs at least is the requests
 * over the limit; the pace before adaptive pacing was a fixed 10/s.
 */
async function pacingCase(runs: number, seed: number): Promise<string> {
  const sim = await startStraitSimulator({ seed, initialRuns: runs, runsPerHour: 0, start: Date.now() - 3_600_000, rateLimit: { limit: 50, windowMs: 1000 } });
  undo.push(() => sim.close());
  const s = straitScenario('Strait at 50 requests/s', sim);
  const dir = join(work, 'paced');
  note(`${s.label}: first sync --once at the default rateLimit`);
  const f = await cliSync(s, writeConfig(s, dir, true), join(dir, 'data'));
  const limited = sim.requests.filter((r) => r.status === 429).length;
  const floorS = f.requests / 50;
  return `pacing at defaults, Strait allowing 50 requests/s (sliding window, X-RateLimit-Limit/-Remaining sent, no reset time): ` +
    `${(f.wallMs / 1000).toFixed(2)} s for ${f.requests} requests, ${limited} answered 429 (at least ${floorS.toFixed(1)} s at the limit; ` +
    `a fixed 10/s would take ${(f.requests / 10).toFixed(0)} s; target: at least 4× faster than the 132 s of a fixed 10/s on scale-20 data, i.e. at most 33 s, and no 429, as at 10/s)`;
}

/** dlt in its own virtualenv under .tools/dlt, installed once (pinned); null with the reason when it cannot be. */
function dltPython(): { python: string } | { reason: string } {
  const dir = join(REPO, '.tools', 'dlt');
  const python = join(dir, 'bin', 'python');
  const pin = join(dir, 'runsync-pin');
  if (existsSync(pin) && readFileSync(pin, 'utf8').trim() === DLT_PIN && existsSync(python)) return { python };
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    note(`installing ${DLT_PIN} into .tools/dlt (once)`);
    rmSync(tmp, { recursive: true, force: true });
    execFileSync('python3', ['-m', 'venv', tmp], { stdio: 'pipe', timeout: 120_000 });
    execFileSync(join(tmp, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', DLT_PIN], { stdio: 'pipe', timeout: 600_000 });
    writeFileSync(join(tmp, 'runsync-pin'), DLT_PIN + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return { python };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const err = e as Error & { stderr?: Buffer };
    return { reason: (err.stderr?.toString().trim().split('\n').pop() || err.message).slice(0, 200) };
  }
}

/** The same Strait job with dlt, one whole process per round; `line()` sums it up next to runsync's first syncs. */
function dltCase(s: Scenario): { round(r: number): Promise<void>; line(runsyncWallS: number[]): string } {
  let status: string | null = values['no-dlt'] ? 'dlt: skipped (--no-dlt)' : null;
  let python: string | null = null;
  const walls: number[] = [];
  let requests = 0;
  let loaded = '';
  const src = s.sources[0];
  return {
    async round(r) {
      if (status) return;
      if (!python) {
        const py = dltPython();
        if ('reason' in py) {
          status = `dlt: not available (${py.reason})`;
          return;
        }
        python = py.python;
      }
      const dir = join(work, `dlt-${r}`);
      mkdirSync(dir, { recursive: true });
      clearLogs(s);
      note(`${s.label}: dlt rest_api on the same data, round ${r + 1}/${ROUNDS}`);
      const f = await measure(python, [join(REPO, 'bench', 'dlt_strait.py'), src.sim.url, 'proj_demo', dir], {
        cwd: REPO, env: { STRAIT_TOKEN: src.sim.token, RUNTIME__DLTHUB_TELEMETRY: 'false' }, timeoutMs: 300_000,
      });
      if (f.code !== 0) {
        status = `dlt: failed (${f.stderr.trim().split('\n').pop()})`;
        return;
      }
      walls.push(f.wallMs / 1000);
      requests = src.sim.requests.length;
      loaded = Object.entries((JSON.parse(f.stdout.trim().split('\n').pop()!) as { rows: Record<string, number> }).rows).map(([t, n]) => `${n} ${t}`).join(', ');
    },
    line(runsyncWallS) {
      if (status) return status;
      const ours = median(runsyncWallS);
      const theirs = median(walls);
      return `dlt ${DLT_PIN.split('==')[1]} rest_api -> duckdb, whole process: ${fmtS(walls)} (${requests} requests, loaded ${loaded}); ` +
        `runsync first sync ${fmtS(runsyncWallS)}: runsync ${ours <= theirs ? `${(theirs / ours).toFixed(2)}× faster` : `${(ours / theirs).toFixed(2)}× slower`} (target: faster)`;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Output

const fmtS = (xs: number[]) => (xs.length === 0 ? '–' : xs.length === 1 ? `${xs[0].toFixed(2)} s` : `${median(xs).toFixed(2)} s (${xs.map((x) => x.toFixed(2)).join('/')})`);
const ratio = (a: number[], b: number[]) => (a.length && b.length ? `${(median(a) / median(b)).toFixed(1)}×` : '–');

function table(): string {
  const head = ['', 'wall', 'CPU', 'peak RSS', 'requests', 'rows written', 'Temporal history', 'raw wall', 'raw CPU', 'wall ratio', 'CPU ratio', 'target'];
  const body = rows.map((r) => [
    r.label, fmtS(r.wallS), fmtS(r.cpuS), r.rssMb === null ? '–' : `${r.rssMb.toFixed(0)} MiB`, r.requests === null ? '–' : String(r.requests),
    r.rows === null ? '–' : String(r.rows), r.history || '–', fmtS(r.rawWallS), fmtS(r.rawCpuS), ratio(r.wallS, r.rawWallS), ratio(r.cpuS, r.rawCpuS), r.target,
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i].length)));
  const line = (row: string[]) => '| ' + row.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------

let code = 0;
try {
  const straitSim = await startStrait(STRAIT_RUNS, SEED);
  const strait = straitScenario('Strait', straitSim);
  note(`Strait simulator: ${strait.size}`);
  const dlt = dltCase(strait);
  const straitResult = await runScenario(strait, (r) => dlt.round(r));

  const five = await startScenarioSims(FIVE_RUNS, SEED + 10);
  undo.push(() => five.close());
  // The simulated DX allows 1,000 requests a minute; the benchmark's rounds would cross it.
  five.sims.dx.faults.setRateLimit({ limit: 1_000_000, windowMs: 60_000 });
  const fiveScenario: Scenario = {
    label: 'Five providers',
    sources: SCENARIO_PROVIDERS.map((p) => ({
      name: `${p}-bench`, provider: p, sim: five.sims[p] as Simulator,
      options: p === 'strait' ? { projectId: 'proj_demo' } : p === 'tracecat' ? { workspaceId: (five.sims.tracecat as TracecatSimulator).workspaceId } : p === 'b3os' ? { orgId: 'org_demo' } : {},
    })),
    dxIds: five.dxIds,
    size: SCENARIO_PROVIDERS.map((p) => `${p} ${((t) => (t.runs ?? t.executions)?.length ?? '?')(five.sims[p].truth() as { runs?: unknown[]; executions?: unknown[] })}`).join(', '),
  };
  note(`five simulators: ${FIVE_RUNS} runs shared out`);
  await runScenario(fiveScenario);

  await serviceCase(strait, Number(values['insert-rows']));
  const pacingLine = values['no-pacing'] ? 'pacing at defaults: skipped (--no-pacing)' : await pacingCase(STRAIT_RUNS, SEED);

  note('peak RSS as the data grows: 3 runs and 4× the Strait data');
  const tinySim = await startStrait(3, SEED + 20);
  const tiny = straitScenario('Strait, 3 runs', tinySim);
  const tinyDir = join(work, 'tiny');
  const tinyRun = await cliSync(tiny, writeConfig(tiny, tinyDir), join(tinyDir, 'data'));
  const bigSim = await startStrait(STRAIT_RUNS * 4, SEED + 30);
  const big = straitScenario('Strait ×4', bigSim);
  const bigDir = join(work, 'big');
  const bigRun = await cliSync(big, writeConfig(big, bigDir), join(bigDir, 'data'));
  const mib = (x: number) => `${x.toFixed(0)} MiB`;
  const plus = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(0)} MiB`;
  const rssRows: string[][] = [
    ['peak RSS, first sync --once', 'process tree', 'runsync process', ''],
    ['3 runs (the fixed cost)', mib(tinyRun.peakTreeRssMb), mib(tinyRun.peakRootRssMb), `${(tinyRun.wallMs / 1000).toFixed(2)} s, ${(tinyRun.cpuMs / 1000).toFixed(1)} CPU-s`],
    [`1× (${strait.size})`, mib(straitResult.rssMb), mib(straitResult.rootRssMb), ''],
    [`4× (${big.size})`, mib(bigRun.peakTreeRssMb), mib(bigRun.peakRootRssMb), `${(bigRun.wallMs / 1000).toFixed(2)} s, ${(bigRun.cpuMs / 1000).toFixed(1)} CPU-s`],
    ['4× above 3 runs', plus(bigRun.peakTreeRssMb - tinyRun.peakTreeRssMb), plus(bigRun.peakRootRssMb - tinyRun.peakRootRssMb), 'target: at most +150 MiB'],
    ['4× above 1×', plus(bigRun.peakTreeRssMb - straitResult.rssMb), plus(bigRun.peakRootRssMb - straitResult.rootRssMb), ''],
  ];
  const rssWidths = [0, 1, 2].map((i) => Math.max(...rssRows.map((r) => r[i].length)));
  const rssLines = rssRows.map((r) => `  ${r[0].padEnd(rssWidths[0])}  ${r[1].padStart(rssWidths[1])}  ${r[2].padStart(rssWidths[2])}  ${r[3]}`.trimEnd());

  const dltLine = dlt.line(straitResult.firstWallS);

  const out = [
    '',
    `runsync benchmark: node ${process.version}, ${availableParallelism()} CPUs, load average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    `Strait: ${strait.size} (simulator seed ${SEED}, ${STRAIT_RUNS} initial runs). Five providers: ${fiveScenario.size} runs.`,
    `Rounds: ${ROUNDS} (runsync and the raw replay alternated; median, then each round).`,
    '',
    table(),
    '',
    ...rssLines,
    '',
    dltLine,
    pacingLine,
    ...notes,
    '',
    'Counted: wall from spawn to exit of the whole process; CPU = the process\'s own user+system time (getrusage at exit) plus the',
    'last /proc sample (100 ms) of each descendant (the Temporal dev server and its supervisor); peak RSS = highest sampled sum of the',
    'tree\'s RSS. Raw replay: the same requests, in the order answered, 4 in flight, JSON parsed and dropped, Node fetch in a fresh',
    'process. Requests: as answered by the simulators. Rows written: runsync\'s own count. Temporal history: events of the sync',
    'workflow executions (continue-as-new runs summed), read back from the data directory\'s Temporal store after the syncs.',
    'Config: defaults except backfill 30d and rateLimit 5000/s (a ceiling so that pacing is not what is measured).',
  ];
  process.stdout.write(out.join('\n') + '\n');
} catch (e) {
  code = 1;
  if (!signalled) process.stderr.write(`bench failed: ${(e as Error).message}\n`);
} finally {
  await cleanup();
}
process.exit(code);
