/**
 * Admission and fair sharing for the SQL endpoint's queries.
 *
 * Two lanes share the read-only connections. Every query starts in the short lane; one
 * still running after `shortMs` moves to the long lane if a long slot is free, else it is
 * cancelled and queued there (a restart costs at most `shortMs`). The shape of a query
 * (its AST with literals left out) that had to move is remembered for a while, so the
 * next ones of that shape go straight to the long lane. Short queries (`SELECT 1`, a
 * dashboard's lookups) so never wait behind slow ones, and slow ones share the long slots.
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
 * by default), shared with the writer and file I/O, so one thread is always left to them.
 */
export function defaultPoolOptions(env: NodeJS.ProcessEnv = process.env): PoolOptions {
  const cores = availableParallelism();
  const uv = Number(env.UV_THREADPOOL_SIZE) || 4;
  const shortSlots = Math.max(1, Math.min(cores, uv - 2));
  const longSlots = Math.max(1, Math.min(cores, uv - 1 - shortSlots));
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

/** The client went away before its query got a slot. */
export class QueryAbortedError extends Error {
  constructor() {
    super('the client closed the connection');
  }
}

interface Waiter {
  lane: Lane;
  grant(): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface PoolStats {
  running: Record<Lane, number>;
  queued: Record<Lane, number>;
  slowShapes: number;
}

/** Why an attempt's signal fired: the client left, or the query outgrew the short lane. */
export type AbortReason = 'client' | 'slow';

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
  }

  private acquire(lane: Lane, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new QueryAbortedError());
    if (this.running[lane] < this.limit(lane) && this.queues[lane].length === 0) {
      this.running[lane]++;
      return Promise.resolve();
    }
    const max = lane === 'short' ? this.opts.shortQueue : this.opts.longQueue;
    if (this.queues[lane].length >= max) {
      // Short queries leave within shortMs; long ones take seconds each.
      return Promise.reject(new ServerBusyError(lane, lane === 'short' ? 1 : 5, this.queues[lane].length));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { lane, grant: resolve, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.queues[lane].indexOf(w);
          if (i >= 0) this.queues[lane].splice(i, 1);
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

  /** Hands free slots to waiters; a short-lane waiter whose shape turned slow meanwhile moves to the long queue. */
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
   * Runs `attempt` under the lane rules. `attempt` gets a signal that fires when the client
   * leaves or the query outgrows the short lane; it must settle only once the engine has
   * stopped the query (the slot is then free again).
   */
  async run<T>(shape: string, signal: AbortSignal | undefined, attempt: (lane: Lane, stop: AbortSignal) => Promise<T>): Promise<T> {
    let lane: Lane = this.isSlowShape(shape) ? 'long' : 'short';
    for (;;) {
      await this.acquire(lane, signal);
      const stop = new AbortController();
      const onClient = () => stop.abort('client' satisfies AbortReason);
      signal?.addEventListener('abort', onClient, { once: true });
      if (signal?.aborted) onClient();
      let held: Lane = lane;
      let timer: NodeJS.Timeout | undefined;
      if (lane === 'short') {
        timer = setTimeout(() => {
          this.markSlow(shape);
          if (this.running.long < this.opts.longSlots && this.queues.long.length === 0) {
            // Moves on without a restart: its connection goes with it.
            this.running.short--;
            this.running.long++;
            held = 'long';
            this.pump('short');
          } else stop.abort('slow' satisfies AbortReason);
        }, this.opts.shortMs);
      }
      try {
        return await attempt(held, stop.signal);
      } catch (e) {
        if (stop.signal.reason === 'slow' && !signal?.aborted) {
          lane = 'long';
          continue;
        }
        throw e;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onClient);
        this.release(held);
      }
    }
  }
}
