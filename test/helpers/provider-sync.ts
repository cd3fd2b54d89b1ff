import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { SourceConfig } from '../../config/schema.js';
import type { SyncResult } from '../../workflows/sync-source.js';
import { simSource, startHarness, type Harness } from './harness.js';
import { num, runsAgainstTruth } from './compare.js';

type Simulator = { provider: string; url: string; token: string; close(): Promise<void> };

/** What a provider's sync tests work with: its simulator(s) and a harness syncing into a fresh warehouse. */
export interface ProviderSync<S> {
  /** The simulator (or named simulators) the sources talk to. */
  readonly sim: S;
  readonly h: Harness;
  /** Runs one sync of `source` (the first source when not named) through Temporal. */
  sync(source?: string): Promise<SyncResult>;
  /** Runs one sync expected to fail; returns the root failure message. */
  syncFailure(source?: string): Promise<string>;
  /** Runs `fn` with the source's settings changed, putting them back in `finally`. */
  withSource<T>(changes: Partial<SourceConfig>, fn: () => Promise<T>, source?: string): Promise<T>;
  /** Runs `fn` with the worker's environment changed (a wrong token), putting it back in `finally`. */
  withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T>;
  /**
   * The source's rows of `runs`, checked to be exactly `truth` by key, each row compared
   * with `want(truth)` on the columns `want` names (numbers read as numbers), or on what
   * `opts.derived` reads from the row under that name. Returns the rows.
   */
  expectRuns<T>(truth: T[], keyOf: (t: T) => string, want: (t: T) => Record<string, unknown>, opts?: { source?: string; derived?: Derived }): Promise<any[]>;
  /** No run of the source stands twice in `runs`. */
  expectNoDuplicateRuns(source?: string): Promise<void>;
}

/** Values compared that are not a column of their own (an attribute, say), read from the row. */
type Derived = Record<string, (row: any) => unknown>;

/** A row's values under `want`'s keys: what `derived` reads, or the column of that name. */
function columnsOf(row: any, want: Record<string, unknown>, derived: Derived = {}): Record<string, unknown> {
  return Object.fromEntries(Object.keys(want).map((k) => [k, derived[k] ? derived[k](row) : typeof want[k] === 'number' ? num(row[k]) : row[k]]));
}

/**
 * One provider's tests against its simulator, through Temporal into chDB: starts the
 * simulator(s) and a harness with the sources `sources` gives, registers `body`'s tests
 * in a `describe`, and closes everything after them.
 */
export function describeProviderSync<S extends Simulator | Record<string, Simulator>>(
  title: string,
  setup: {
    simulators: () => Promise<S>;
    /** The sources under test and the environment holding their tokens; `oneSource` for the usual case. */
    sources: (sim: S) => { sources: unknown[]; env: Record<string, string> };
  },
  body: (p: ProviderSync<S>) => void,
): void {
  let sim: S | undefined;
  let h: Harness | undefined;
  const ready = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`${what} is not started (used outside a test?)`);
    return x;
  };
  const first = () => ready(h, 'the harness').config.sources[0].name;
  const sourceConfig = (name: string) => {
    const s = ready(h, 'the harness').config.sources.find((x) => x.name === name);
    if (!s) throw new Error(`no source ${name} in the test config`);
    return s;
  };
  const simulators = (s: S): Simulator[] => ('close' in s && typeof s.close === 'function' ? [s as Simulator] : Object.values(s as Record<string, Simulator>));

  const p: ProviderSync<S> = {
    get sim() {
      return ready(sim, 'the simulator');
    },
    get h() {
      return ready(h, 'the harness');
    },
    sync: (source) => p.h.sync(source ?? first()),
    syncFailure: (source) => p.h.syncFailure(source ?? first()),
    async withSource(changes, fn, source) {
      const s = sourceConfig(source ?? first());
      const saved = Object.fromEntries(Object.keys(changes).map((k) => [k, s[k as keyof SourceConfig]]));
      Object.assign(s, changes);
      try {
        return await fn();
      } finally {
        Object.assign(s, saved);
      }
    },
    async withEnv(vars, fn) {
      const env = p.h.env;
      const saved = Object.entries(vars).map(([k]) => [k, env[k]] as const);
      Object.assign(env, vars);
      try {
        return await fn();
      } finally {
        for (const [k, v] of saved) {
          if (v === undefined) delete env[k];
          else env[k] = v;
        }
      }
    },
    async expectRuns(truth, keyOf, want, opts = {}) {
      const { runs, truthOf } = await runsAgainstTruth(p.h, opts.source ?? first(), truth, keyOf);
      for (const row of runs) {
        const expected = want(truthOf(row));
        expect(columnsOf(row, expected, opts.derived), row.run_id).toEqual(expected);
      }
      return runs;
    },
    async expectNoDuplicateRuns(source) {
      const dup = await p.h.query(`SELECT run_id, count() c FROM runs WHERE source = {s:String} GROUP BY run_id HAVING c > 1`, { s: source ?? first() });
      expect(dup).toEqual([]);
    },
  };

  describe(title, () => {
    beforeAll(async () => {
      sim = await setup.simulators();
      const { sources, env } = setup.sources(sim);
      h = await startHarness({ sources, env });
    });
    afterAll(async () => {
      await h?.close();
      if (sim) for (const s of simulators(sim)) await s.close();
    });
    body(p);
  });
}

/** One source on one simulator, with the windows tests use (see `simSource`). */
export function oneSource(sim: Simulator, s: Parameters<typeof simSource>[1]): { sources: unknown[]; env: Record<string, string> } {
  const { source, env } = simSource(sim, s);
  return { sources: [source], env };
}
