/**
 * Admission and fair sharing for the SQL endpoint's queries.
 *
 * Two lanes, each with connections of its own. A query starts in the long lane when that is
 * idle, else in the short lane, whose
 * connections stop a query after `shortMs` of engine time (max_execution_time, so time spent
 * waiting for a thread does not count); a query stopped there is queued in the long lane and
 * run again (a restart costs at most `shortMs`). The shape of such a query (its AST with
 * literals left out) is remembered for a while, so the next ones of that shape go straight
 * to the long lane. Short queries (`SELECT 1`, a dashboard's lookups) so never wait behind
 * slow ones, and slow ones share the long slots.
 *
 * Each lane's queue is bounded: a full queue answers at once with {@link ServerBusyError}.
 */
import { availableParallelism } from 'node:os';

export interface PoolOptions {
  /** Queries that may run at once in the short lane. */
  shortSlots: number;
  /** Queries that may run at once in the long lane. */
  longSlots: number;
  /** Milliseconds a query may run in the short lane. */
  shortMs: number;
  /** Waiting queries per lane; more are answered 503 at once. */
  shortQueue: number;
  longQueue: number;
  /** How long (ms) a query shape found slow goes straight to the long lane. */
  slowShapeTtlMs: number;
}

/**
 * Sized to the machine: embedded queries run on libuv's thread pool (UV_THREADPOOL_SIZE, 4
 * by default), shared with the endpoint's checks, the writer and file I/O; two threads are
 * left to those. With the default pool and two cores that is one short and one long slot.
 */
export function defaultPoolOptions(env: NodeJS.ProcessEnv = process.env): PoolOptions {
  const cores = availableParallelism();
  const uv = Number(env.UV_THREADPOOL_SIZE) || 4;
  const room = Math.max(2, uv - 1);
  const longSlots = Math.max(1, Math.min(cores, Math.floor(room / 3)));
  const shortSlots = Math.max(1, Math.min(cores, room - longSlots));
  return { shortSlots, longSlots, shortMs: 500, shortQueue: 256, longQueue: 16 * longSlots, slowShapeTtlMs: 10 * 60_000 };
}

export type Lane = 'short' | 'long';

export class ServerBusyError extends Error {
  constructor(
    readonly lane: Lane,
    readonly retryAfterSeconds: number,
    queued: number,
  ) {
    super(`too many queries: ${queued} ${lane} queries are already waiting; retry in ${retryAfterSeconds} s`);
  }
}

/** Thrown by an attempt in the short lane when the query outgrew it. */
export class OutgrewShortLaneError extends Error {
  constructor() {
    super('the query outgrew the short lane');
  }
}

/** The client went away before its query got a slot. */
export class QueryAbortedError extends Error {
  constructor() {
    super('the client closed the connection');
  }
}

interface Waiter {
  lane: Lane;
  shape: string;
  grant(): void;
  refuse(e: Error): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface PoolStats {
  running: Record<Lane, number>;
  queued: Record<Lane, number>;
  slowShapes: number;
}


export class QueryScheduler {
  private readonly running: Record<Lane, number> = { short: 0, long: 0 };
  private readonly queues: Record<Lane, Waiter[]> = { short: [], long: [] };
  private readonly slow = new Map<string, number>();

  constructor(readonly opts: PoolOptions) {
    for (const [k, v] of Object.entries(opts)) {
      if (!Number.isSafeInteger(v) || v < (k.endsWith('Queue') ? 0 : 1)) throw new Error(`query pool option ${k} must be a positive integer, got ${v}`);
    }
  }

  stats(): PoolStats {
    return { running: { ...this.running }, queued: { short: this.queues.short.length, long: this.queues.long.length }, slowShapes: this.slow.size };
  }

  private limit(lane: Lane): number {
    return lane === 'short' ? this.opts.shortSlots : this.opts.longSlots;
  }

  isSlowShape(shape: string): boolean {
    const until = this.slow.get(shape);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.slow.delete(shape);
    return false;
  }

  private markSlow(shape: string): void {
    this.slow.delete(shape);
    this.slow.set(shape, Date.now() + this.opts.slowShapeTtlMs);
    // Oldest first in a Map: a bounded memory of shapes.
    while (this.slow.size > 1000) this.slow.delete(this.slow.keys().next().value as string);
    // Queries of that shape waiting in the short lane move on to the long lane now.
    const short = this.queues.short;
    for (let i = 0; i < short.length; ) {
      const w = short[i];
      if (w.shape !== shape) {
        i++;
        continue;
      }
      short.splice(i, 1);
      if (this.queues.long.length >= this.opts.longQueue) {
        if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
        w.refuse(this.busy('long'));
        continue;
      }
      w.lane = 'long';
      this.queues.long.push(w);
    }
    this.pump('long');
  }

  private busy(lane: Lane): ServerBusyError {
    // Short queries leave within shortMs; long ones take seconds each.
    return new ServerBusyError(lane, lane === 'short' ? 1 : 5, this.queues[lane].length);
  }

  private acquire(lane: Lane, shape: string, signal: AbortSignal | undefined): Promise<Lane> {
    if (signal?.aborted) return Promise.reject(new QueryAbortedError());
    if (this.running[lane] < this.limit(lane) && this.queues[lane].length === 0) {
      this.running[lane]++;
      return Promise.resolve(lane);
    }
    const max = lane === 'short' ? this.opts.shortQueue : this.opts.longQueue;
    if (this.queues[lane].length >= max) {
      return Promise.reject(this.busy(lane));
    }
    return new Promise<Lane>((resolve, reject) => {
      const w: Waiter = { lane, shape, grant: () => resolve(w.lane), refuse: reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.queues[w.lane].indexOf(w);
          if (i >= 0) this.queues[w.lane].splice(i, 1);
          reject(new QueryAbortedError());
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queues[lane].push(w);
    });
  }

  private release(lane: Lane): void {
    this.running[lane]--;
    this.pump(lane);
  }

  /** Hands free slots to waiters, first come first served. */
  private pump(lane: Lane): void {
    const q = this.queues[lane];
    while (q.length && this.running[lane] < this.limit(lane)) {
      const w = q.shift()!;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      this.running[lane]++;
      w.grant();
    }
  }

  /**
   * Runs `attempt` under the lane rules. `attempt` gets the client's signal (fired when it
   * leaves); it must settle only once the engine has let go of the query (the slot is then
   * free again), and throw {@link OutgrewShortLaneError} when the short lane stopped it.
   */
  async run<T>(shape: string, signal: AbortSignal | undefined, attempt: (lane: Lane) => Promise<T>): Promise<T> {
    // An idle long lane takes a query of unknown shape at once (no restart if it turns out slow);
    // otherwise it tries the short lane first.
    const longIdle = this.running.long < this.opts.longSlots && this.queues.long.length === 0;
    let want: Lane = this.isSlowShape(shape) || longIdle ? 'long' : 'short';
    for (;;) {
      const lane = await this.acquire(want, shape, signal);
      try {
        return await attempt(lane);
      } catch (e) {
        if (!(e instanceof OutgrewShortLaneError) || lane !== 'short' || signal?.aborted) throw e;
        this.markSlow(shape);
        want = 'long';
      } finally {
        this.release(lane);
      }
    }
  }
}
