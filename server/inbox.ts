import type { ClickHouseClient } from '@clickhouse/client';
import type { Route } from './app.js';
import { sendJson } from './app.js';
import type { RunsyncConfig, SourceConfig } from '../config/schema.js';
import type { Services } from '../runtime/services.js';
import { provider } from '../providers/index.js';
import { addToInbox } from '../warehouse/queries.js';
import { escapeControl, hasControl } from '../core/escape.js';

export class InboxError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A source fed by run ids (its provider cannot list runs: DX). */
export function inboxSource(config: RunsyncConfig, name: string): SourceConfig {
  const source = config.sources.find((s) => s.name === name);
  if (!source) throw new InboxError(`no source named ${JSON.stringify(name)} in the configuration`, 404);
  if (provider(source.provider).listable) {
    throw new InboxError(`source "${name}" (${source.provider}) lists its own runs; only sources without a listing (dx) take run ids`, 400);
  }
  return source;
}

/** Ids in one request, whatever the caps: beyond that the request is refused before any lookup. */
export const MAX_IDS = 10_000;
const MAX_ID_LENGTH = 512;

/** An id as it may appear in an error message: JSON-quoted (control characters escaped), cut short. */
const showId = (id: string) => escapeControl(JSON.stringify(id.length > 80 ? id.slice(0, 80) + '…' : id));

/**
 * Run ids from `{"run_ids": [...]}` or a bare list: non-empty strings without control
 * characters (they would end up in logs and URLs), deduplicated.
 */
export function parseRunIds(body: unknown): string[] {
  const list = Array.isArray(body) ? body : body && typeof body === 'object' ? (body as { run_ids?: unknown }).run_ids : undefined;
  if (!Array.isArray(list) || list.length === 0) throw new InboxError('expected {"run_ids": ["…", …]} or a JSON list of run ids, not empty', 400);
  if (list.length > MAX_IDS) throw new InboxError(`${list.length} run ids in one request; at most ${MAX_IDS}`, 413);
  for (const [i, id] of list.entries()) {
    if (typeof id !== 'string' || id.trim() === '' || id.length > MAX_ID_LENGTH) {
      throw new InboxError(`run id #${i + 1} (${typeof id === 'string' ? showId(id) : typeof id}) must be a non-empty string of at most ${MAX_ID_LENGTH} characters`, 400);
    }
    if (hasControl(id)) throw new InboxError(`run id ${showId(id)} contains a control character (newline, NUL, …); run ids are printable text`, 400);
  }
  return [...new Set(list.map((id: string) => id.trim()))];
}

export interface InboxCaps {
  /** Ids a source may hold waiting to be polled. */
  maxPending: number;
  /** New ids per minute: a bucket of that many, refilled evenly. */
  idsPerMinute: number;
}

/**
 * The caps of one service's inboxes. Admissions of a source are serialized (check, then
 * insert), so two requests cannot both pass a check that only one of them fits.
 */
export class InboxAdmission {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    readonly caps: InboxCaps,
    private readonly now: () => number = Date.now,
  ) {}

  private tokens(source: string): number {
    const b = this.buckets.get(source) ?? { tokens: this.caps.idsPerMinute, at: this.now() };
    const t = this.now();
    b.tokens = Math.min(this.caps.idsPerMinute, b.tokens + ((t - b.at) / 60_000) * this.caps.idsPerMinute);
    b.at = t;
    this.buckets.set(source, b);
    return b.tokens;
  }

  /** Adds the ids to the source's inbox if they fit both caps; else throws 413 or 429 (with Retry-After). */
  admit(client: ClickHouseClient, source: string, ids: string[]): Promise<{ accepted: number; added: number }> {
    const run = async () => {
      if (ids.length > this.caps.maxPending) {
        throw new InboxError(`${ids.length} run ids in one request; source "${source}" holds at most ${this.caps.maxPending} waiting to be polled`, 413);
      }
      const fresh = await newIds(client, source, ids);
      if (fresh.length === 0) return { accepted: ids.length, added: 0 };
      const pending = await pendingCount(client, source);
      if (pending + fresh.length > this.caps.maxPending) {
        throw new InboxError(
          `source "${source}" has ${pending} run ids waiting to be polled and takes at most ${this.caps.maxPending}; these ${fresh.length} new ones would pass that: retry once syncs have polled some`,
          429,
          { 'retry-after': '60' },
        );
      }
      const available = this.tokens(source);
      if (fresh.length > available) {
        const wait = Math.ceil(((fresh.length - available) / this.caps.idsPerMinute) * 60);
        throw new InboxError(`source "${source}" takes at most ${this.caps.idsPerMinute} new run ids per minute: retry in ${wait} s`, 429, { 'retry-after': String(wait) });
      }
      await addToInbox(client, source, fresh);
      this.buckets.get(source)!.tokens -= fresh.length;
      return { accepted: ids.length, added: fresh.length };
    };
    const prev = this.chains.get(source) ?? Promise.resolve();
    const next = prev.then(run, run);
    this.chains.set(source, next.catch(() => undefined));
    return next;
  }
}

/** The ids not already in the source's inbox (repeating an id costs nothing and counts for nothing). */
async function newIds(client: ClickHouseClient, source: string, ids: string[]): Promise<string[]> {
  const rs = await client.query({
    query: 'SELECT DISTINCT run_id FROM inbox WHERE source = {source:String} AND run_id IN {ids:Array(String)}',
    query_params: { source, ids },
    format: 'JSONEachRow',
  });
  const known = new Set((await rs.json<{ run_id: string }>()).map((r) => r.run_id));
  return ids.filter((id) => !known.has(id));
}

/** Ids handed in and not yet polled: neither written as runs nor reported gone (as the sync's repoll reads them). */
export async function pendingCount(client: ClickHouseClient, source: string): Promise<number> {
  const rs = await client.query({
    query: `SELECT count() AS n FROM (SELECT DISTINCT run_id FROM inbox WHERE source = {source:String})
            WHERE run_id NOT IN (SELECT run_id FROM run_versions WHERE source = {source:String})
              AND run_id NOT IN (SELECT run_id FROM gone_runs WHERE source = {source:String})`,
    query_params: { source },
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string }>())[0].n);
}

const admissions = new WeakMap<Services, InboxAdmission>();
function admissionFor(services: Services): InboxAdmission {
  let a = admissions.get(services);
  if (!a) {
    const server = services.config.server;
    a = new InboxAdmission({ maxPending: server.inboxMaxPending, idsPerMinute: server.inboxIdsPerMinute });
    admissions.set(services, a);
  }
  return a;
}

/** `POST /sources/:name/runs`: hands run ids to an inbox-fed source; the next sync polls them. */
export function inboxRoutes(): Route[] {
  return [
    {
      method: 'POST',
      path: '/sources/:name/runs',
      async handle({ res, params, services, body }) {
        try {
          if (hasControl(params.name)) throw new InboxError(`source name ${JSON.stringify(params.name)} contains a control character`, 400);
          const source = inboxSource(services.config, params.name);
          let raw: Buffer;
          try {
            raw = await body();
          } catch (e) {
            const status = (e as { status?: number }).status;
            if (status === 413) throw new InboxError(`${(e as Error).message}: send the run ids in smaller requests (at most ${MAX_IDS} ids)`, 413, { connection: 'close' });
            throw e;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw.toString('utf8'));
          } catch {
            throw new InboxError('body is not JSON', 400);
          }
          const ids = parseRunIds(parsed);
          const r = await admissionFor(services).admit(services.warehouse.client, source.name, ids);
          sendJson(res, 200, r);
        } catch (e) {
          if (e instanceof InboxError) sendJson(res, e.status, { error: escapeControl(e.message) }, e.headers);
          else throw e;
        }
      },
    },
  ];
}
