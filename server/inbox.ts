import type { Route } from './app.js';
import { sendJson } from './app.js';
import type { RunsyncConfig, SourceConfig } from '../config/schema.js';
import { provider } from '../providers/index.js';
import { addToInbox } from '../warehouse/queries.js';

export class InboxError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A source fed by run ids (its provider cannot list runs: DX). */
export function inboxSource(config: RunsyncConfig, name: string): SourceConfig {
  const source = config.sources.find((s) => s.name === name);
  if (!source) throw new InboxError(`no source named "${name}" in the configuration`, 404);
  if (provider(source.provider).listable) {
    throw new InboxError(`source "${name}" (${source.provider}) lists its own runs; only sources without a listing (dx) take run ids`, 400);
  }
  return source;
}

const MAX_IDS = 10_000;

/** Run ids from `{"run_ids": [...]}` or a bare list: non-empty strings, deduplicated. */
export function parseRunIds(body: unknown): string[] {
  const list = Array.isArray(body) ? body : body && typeof body === 'object' ? (body as { run_ids?: unknown }).run_ids : undefined;
  if (!Array.isArray(list) || list.length === 0) throw new InboxError('expected {"run_ids": ["…", …]} or a JSON list of run ids, not empty', 400);
  if (list.length > MAX_IDS) throw new InboxError(`at most ${MAX_IDS} run ids per request`, 400);
  for (const id of list) {
    if (typeof id !== 'string' || id.trim() === '' || id.length > 512) throw new InboxError('every run id must be a non-empty string (at most 512 characters)', 400);
  }
  return [...new Set(list.map((id: string) => id.trim()))];
}

/** `POST /sources/:name/runs`: hands run ids to an inbox-fed source; the next sync polls them. */
export function inboxRoutes(): Route[] {
  return [
    {
      method: 'POST',
      path: '/sources/:name/runs',
      async handle({ res, params, services, body }) {
        try {
          const source = inboxSource(services.config, params.name);
          const text = (await body()).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new InboxError('body is not JSON', 400);
          }
          const ids = parseRunIds(parsed);
          await addToInbox(services.warehouse.client, source.name, ids);
          sendJson(res, 200, { accepted: ids.length });
        } catch (e) {
          if (e instanceof InboxError) sendJson(res, e.status, { error: e.message });
          else throw e;
        }
      },
    },
  ];
}
