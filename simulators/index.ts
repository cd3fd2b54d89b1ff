/** Entry point: the five provider simulators and helpers to start them. */
import type { SimulatorOptions, Simulator, ProviderName } from './core/sim.js';
import { startStraitSimulator, type StraitSimulator, type StraitSimulatorOptions } from './strait.js';
import { startTracecatSimulator, type TracecatSimulator, type TracecatSimulatorOptions } from './tracecat.js';
import { startB3osSimulator, type B3osSimulator, type B3osSimulatorOptions } from './b3os.js';
import { startAnonSimulator, type AnonSimulator, type AnonSimulatorOptions } from './anon.js';
import { startDxSimulator, type DxSimulator } from './dx.js';

export * from './strait.js';
export * from './tracecat.js';
export * from './b3os.js';
export * from './anon.js';
export * from './dx.js';
export type { SimulatorOptions, Simulator, ProviderName, SimClockApi } from './core/sim.js';
export type { RequestLogEntry } from './core/server.js';
export type { FaultPlan, FaultSpec, RateLimitOptions, MalformedRecord } from './core/faults.js';
export { DEFAULT_START } from './core/clock.js';

export const PROVIDERS: readonly ProviderName[] = ['dx', 'anon', 'strait', 'tracecat', 'b3os'];

export interface SimulatorByProvider {
  dx: DxSimulator;
  anon: AnonSimulator;
  strait: StraitSimulator;
  tracecat: TracecatSimulator;
  b3os: B3osSimulator;
}

export interface OptionsByProvider {
  dx: SimulatorOptions;
  anon: AnonSimulatorOptions;
  strait: StraitSimulatorOptions;
  tracecat: TracecatSimulatorOptions;
  b3os: B3osSimulatorOptions;
}

export async function startSimulator<P extends ProviderName>(provider: P, opts: OptionsByProvider[P] = {}): Promise<SimulatorByProvider[P]> {
  switch (provider) {
    case 'dx':
      return (await startDxSimulator(opts)) as SimulatorByProvider[P];
    case 'anon':
      return (await startAnonSimulator(opts as AnonSimulatorOptions)) as SimulatorByProvider[P];
    case 'strait':
      return (await startStraitSimulator(opts as StraitSimulatorOptions)) as SimulatorByProvider[P];
    case 'tracecat':
      return (await startTracecatSimulator(opts as TracecatSimulatorOptions)) as SimulatorByProvider[P];
    case 'b3os':
      return (await startB3osSimulator(opts as B3osSimulatorOptions)) as SimulatorByProvider[P];
    default:
      throw new Error(`unknown provider ${String(provider)}`);
  }
}

export interface AllSimulators extends SimulatorByProvider {
  list: Simulator[];
  /** Advance every simulator's clock together. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/**
 * Start all five on random ports (for the demo). `opts` applies to each
 * (port is ignored); `perProvider` adds provider-specific options.
 */
export async function startAllSimulators(
  opts: Omit<SimulatorOptions, 'port'> = {},
  perProvider: Partial<OptionsByProvider> = {},
): Promise<AllSimulators> {
  const started: Simulator[] = [];
  try {
    const one = async <P extends ProviderName>(p: P) => {
      const s = await startSimulator(p, { ...opts, ...(perProvider[p] ?? {}), port: 0 } as OptionsByProvider[P]);
      started.push(s);
      return s;
    };
    const dx = await one('dx');
    const anon = await one('anon');
    const strait = await one('strait');
    const tracecat = await one('tracecat');
    const b3os = await one('b3os');
    return {
      dx, anon, strait, tracecat, b3os,
      list: [...started],
      advance: (ms) => started.forEach((s) => s.advance(ms)),
      close: async () => {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
}
