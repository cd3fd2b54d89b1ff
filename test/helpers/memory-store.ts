import { isTerminal, normaliseStatus } from '../../core/status.js';
import type { KnownRun, QuarantineRecord, RunWrite, SyncStore } from '../../sync/store.js';
import type { RunBundle } from '../../sync/records.js';

/**
 * An in-memory SyncStore, so the engine's decisions (paging, change detection, watermark,
 * quarantine, re-polling) are tested without chDB or Temporal. It keeps what a warehouse
 * would keep and nothing more clever: the latest write of each run wins.
 */
export class MemoryStore implements SyncStore {
  readonly runs = new Map<string, { bundle: RunBundle; known: KnownRun; syncId: string }>();
  readonly quarantined: QuarantineRecord[] = [];
  readonly gone = new Set<string>();
  readonly workflowNames = new Map<string, string>();
  /** Ids handed in, with the number of the hand-in that first brought each (later hand-ins come first). */
  readonly inbox = new Map<string, number>();
  private handIns = 0;
  /** Runs whose writes are silently lost (to prove the engine's self-check). */
  readonly drop = new Set<string>();
  private version = 0;
  /** Rows are written at once here: queued is written. */
  rowsQueued = 0;

  constructor(public syncId = 'sync-1') {}

  async knownRuns(ids: string[]): Promise<Map<string, KnownRun>> {
    const out = new Map<string, KnownRun>();
    for (const id of ids) {
      const r = this.runs.get(id);
      if (r) out.set(id, { ...r.known });
    }
    return out;
  }

  /** Hands ids in, as one request to the inbox does. */
  handIn(ids: string[]): void {
    const n = ++this.handIns;
    for (const id of ids) if (!this.inbox.has(id)) this.inbox.set(id, n);
  }

  async runsToRepoll(q: { kind: 'known' | 'inbox'; settleSince: number; listedSince: number | null; after: string; limit: number }): Promise<{ ids: string[]; next: string }> {
    if (q.kind === 'known') {
      const ids: string[] = [];
      for (const [id, r] of this.runs) {
        if (r.syncId === this.syncId || this.gone.has(id)) continue;
        if (!r.known.is_terminal || (r.known.finished_at !== null && r.known.finished_at >= q.settleSince)) ids.push(id);
      }
      const page = ids.filter((id) => id > q.after).sort().slice(0, q.limit);
      return { ids: page, next: page.at(-1) ?? q.after };
    }
    const m = /^(\d+):(.*)$/s.exec(q.after);
    const page = [...this.inbox]
      .filter(([id, n]) => !this.runs.has(id) && !this.gone.has(id) && (!m || n < Number(m[1]) || (n === Number(m[1]) && id > m[2])))
      .sort(([a, n], [b, k]) => k - n || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, q.limit);
    const last = page.at(-1);
    return { ids: page.map(([id]) => id), next: last ? `${last[1]}:${last[0]}` : q.after };
  }

  async writeRun(w: RunWrite): Promise<{ version: number; warnings: string[] }> {
    const id = w.bundle.run.run_id;
    const version = Math.max(++this.version, (w.known?.version ?? 0) + 1);
    this.version = version;
    if (this.drop.has(id)) return { version, warnings: [] };
    const status = normaliseStatus(w.statuses.run, w.bundle.run.provider_status);
    this.runs.set(id, {
      bundle: w.bundle,
      syncId: this.syncId,
      known: { run_id: id, fingerprint: w.fingerprint, is_terminal: isTerminal(status), finished_at: w.bundle.run.finished_at, first_seen_at: w.known?.first_seen_at ?? 0, version, content_hash: w.contentHash, provider_status: w.bundle.run.provider_status ?? '' },
    });
    this.rowsQueued += 1 + (w.bundle.steps?.length ?? 0) + (w.bundle.events?.length ?? 0) + (w.bundle.links?.length ?? 0);
    return { version, warnings: [] };
  }

  async quarantine(q: QuarantineRecord): Promise<void> {
    this.quarantined.push(q);
  }

  async runGone(runId: string): Promise<void> {
    this.gone.add(runId);
  }

  async workflowName(workflowId: string, name: string): Promise<void> {
    this.workflowNames.set(workflowId, name);
  }

  /** How many times the engine asked for queued rows to be written. */
  flushes = 0;

  async flush(): Promise<void> {
    this.flushes++;
  }

  async missing(written: Map<string, number>): Promise<string[]> {
    return [...written].filter(([id, v]) => (this.runs.get(id)?.known.version ?? -1) < v).map(([id]) => id);
  }
}
