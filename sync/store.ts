import type { StatusMap } from '../core/status.js';
import type { RunBundle } from './records.js';

/** What the warehouse holds of a run: decides whether it needs fetching, and its next version. */
export interface KnownRun {
  run_id: string;
  fingerprint: string;
  is_terminal: boolean;
  finished_at: number | null;
  first_seen_at: number;
  /** The stored row's version: a new one must be higher, whatever this machine's clock says. */
  version: number;
  /** Hash of what the stored rows say ('' when unknown): an identical fetch is not written again. */
  content_hash: string;
  /** The provider's own status word as stored: names what changed when a list entry differs. */
  provider_status?: string;
}

/** One run to write: its records (already cleaned of secrets) and what the warehouse knew of it. */
export interface RunWrite {
  bundle: RunBundle;
  fingerprint: string;
  contentHash: string;
  known: KnownRun | undefined;
  statuses: { run: StatusMap; step: StatusMap };
  /** Keep the raw answer already stored (the run was written from a summary). */
  keepRaw: boolean;
}

export interface QuarantineRecord {
  severity: 'error' | 'warning';
  endpoint: string;
  key: string;
  reason: string;
  /** Serialised, scrubbed payload ('' when none). */
  payload: string;
}

/**
 * Where a sync reads what is known and writes what it fetched, for one source and one
 * sync. `warehouse/store.ts` implements it on ClickHouse; unit tests use an in-memory one.
 */
export interface SyncStore {
  knownRuns(ids: string[]): Promise<Map<string, KnownRun>>;
  /**
   * Runs to poll by id, after the position `after` ('' to begin), with the position after
   * the last one. `known`: open or still settling, not written by this sync and not seen by
   * its listing (their cursor column before `listedSince`), in id order. `inbox`: ids handed
   * in through the inbox and never fetched, the most recently handed in first (then by id),
   * so a large batch handed in earlier never holds back the runs that start after it.
   */
  runsToRepoll(q: { kind: 'known' | 'inbox'; settleSince: number; listedSince: number | null; after: string; limit: number }): Promise<{ ids: string[]; next: string }>;
  /**
   * Queues a run's rows as one unit (run row last) and returns the version they carry and
   * the negative durations found while building them.
   */
  writeRun(w: RunWrite): Promise<{ version: number; warnings: string[] }>;
  quarantine(q: QuarantineRecord): Promise<void>;
  /** The provider no longer knows this run: it is not polled again. */
  runGone(runId: string, reason: string): Promise<void>;
  workflowName(workflowId: string, name: string): Promise<void>;
  /** Writes everything queued; throws if any of it could not be written. */
  flush(): Promise<void>;
  /** Of these runs (id → version written), those whose run row is not in the warehouse at that version. */
  missing(written: Map<string, number>): Promise<string[]>;
  /** Rows handed over so far: written once the next flush succeeds. */
  readonly rowsQueued: number;
}
