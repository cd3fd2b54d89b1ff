/**
 * Run one simulator (or all) from the command line, for the demo:
 *   node --import tsx simulators/cli.ts --provider strait --port 7001 --seed 1 [--speed 60]
 *   node --import tsx simulators/cli.ts --provider all --speed 60
 * --speed: simulated seconds per real second (clock advances on a timer).
 */
import { parseArgs } from 'node:util';
import { PROVIDERS, startAllSimulators, startSimulator } from './index.js';
import type { ProviderName, Simulator } from './core/sim.js';

const { values } = parseArgs({
  options: {
    provider: { type: 'string', default: 'all' },
    port: { type: 'string' },
    seed: { type: 'string', default: '1' },
    speed: { type: 'string' },
    'initial-runs': { type: 'string' },
    'runs-per-hour': { type: 'string' },
    token: { type: 'string', multiple: true },
  },
});

const num = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number`);
  return n;
};

const speed = num(values.speed, 'speed');
const base = {
  seed: num(values.seed, 'seed'),
  initialRuns: num(values['initial-runs'], 'initial-runs'),
  runsPerHour: num(values['runs-per-hour'], 'runs-per-hour'),
  tokens: values.token,
  autoAdvance: speed ? { speed } : undefined,
};

function describe(s: Simulator): string {
  const extra =
    s.provider === 'tracecat' ? ` workspace_id=${(s as unknown as { workspaceId: string }).workspaceId}`
      : s.provider === 'strait' ? ' project_id=proj_demo' : '';
  return `${s.provider} simulator on ${s.url} token=${s.token}${extra}`;
}

async function main(): Promise<void> {
  const provider = values.provider ?? 'all';
  let sims: Simulator[];
  if (provider === 'all') {
    if (values.port) throw new Error('--port needs a single --provider');
    sims = (await startAllSimulators(base)).list;
  } else {
    if (!(PROVIDERS as readonly string[]).includes(provider)) throw new Error(`--provider must be one of ${PROVIDERS.join(', ')}, all`);
    sims = [await startSimulator(provider as ProviderName, { ...base, port: num(values.port, 'port') ?? 0 })];
  }
  for (const s of sims) process.stdout.write(describe(s) + '\n');
  // keep the process alive (autoAdvance timers are unref'd)
  const keepAlive = setInterval(() => {}, 1 << 30);
  const stop = async () => {
    clearInterval(keepAlive);
    await Promise.all(sims.map((s) => s.close()));
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
