import type { z } from 'zod';
import type { SourceConfig } from '../config/schema.js';
import { bearer } from './common.js';
import type { BoundCollection, BoundParents, BoundProvider, ChildSink, Collection, FetchedRun, ListedRun, ParentSpec, Provider, ProviderSpec, Rejected } from './types.js';

/** The first issues of a failed schema check, each with the field it concerns. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
    .join('; ');
}

const reject = (rejected: string): Rejected => ({ rejected });

/** A collection with the options applied; a source's `pageSize` replaces the page size, up to what the provider accepts. */
export function bindCollection<O>(c: Collection<O>, options: O, pageSize?: number): BoundCollection {
  const p = c.paging;
  const paging = pageSize === undefined ? p : { ...p, limit: Math.min(pageSize, p.maxLimit ?? p.limit) };
  return { endpoint: c.endpoint, path: c.path, items: c.items, paging, query: (w) => c.query?.({ options, ...w }) ?? {} };
}

/** Parents of a fan-out listing, validated by their own schema. */
export function parentsOf<O, P>(spec: ParentSpec<O, P>): BoundParents<O> {
  return {
    collection: (options) => bindCollection(spec.collection, options),
    read: (raw) => {
      const parsed = spec.schema.safeParse(raw);
      if (!parsed.success) return reject(`invalid parent item: ${describeIssues(parsed.error)}`);
      return { id: spec.id(parsed.data), workflowName: spec.workflowName?.(parsed.data) };
    },
  };
}

/**
 * Checks a provider's definition against its schemas and closes it over a source's
 * options: the engine handles plain values, every hook here is typed.
 */
export function defineProvider<O, L = never, D = never, C extends Record<string, unknown> = Record<never, never>>(spec: ProviderSpec<O, L, D, C>): Provider {
  return {
    name: spec.name,
    options: spec.options,
    listable: (spec.list?.length ?? 0) > 0,
    bind: (source) => bind(spec, source),
  };
}

function bind<O, L, D, C extends Record<string, unknown>>(spec: ProviderSpec<O, L, D, C>, source: SourceConfig): BoundProvider {
  const options = spec.options.parse(source.options);

  const fetched = (run: D): FetchedRun => {
    const key = spec.key(run);
    const collected = {} as { [K in keyof C]: C[K][] };
    const sinks: ChildSink[] = [];
    for (const name in spec.children) {
      const child = spec.children[name];
      const items: C[typeof name][] = [];
      const seen = new Set<string>();
      collected[name] = items;
      sinks.push({
        name,
        collection: bindCollection(child.collection, options),
        add: (raw) => {
          const parsed = child.schema.safeParse(raw);
          if (!parsed.success) return reject(`invalid ${name} item of run ${key}: ${describeIssues(parsed.error)}`);
          const k = child.key?.(parsed.data);
          if (k !== undefined) {
            if (seen.has(k)) return null;
            seen.add(k);
          }
          items.push(parsed.data);
          return null;
        },
      });
    }
    return { key, fingerprint: spec.fingerprint(run), raw: run, children: sinks, bundle: () => spec.toBundle({ run, children: collected, options, source }) };
  };

  const listItemSchema = spec.listItem;
  const fromList = spec.detailFromListItem;
  const summary = spec.listItemBundle;
  const detail = spec.detail;
  return {
    name: spec.name,
    cursorColumn: spec.cursorColumn ?? null,
    listingShowsChanges: spec.listingShowsChanges ?? false,
    fingerprintFields: spec.fingerprintFields ?? [],
    runStatuses: spec.runStatuses,
    stepStatuses: spec.stepStatuses ?? spec.runStatuses,
    envelope: spec.envelope,
    headers: (token) => (spec.auth ? spec.auth(token, options) : bearer(token)),
    streams: (spec.list ?? []).map((s) => ({
      name: s.name,
      collection: bindCollection(typeof s.collection === 'function' ? s.collection(options) : s.collection, options, source.pageSize),
      parents: s.parents ? { collection: s.parents.collection(options), read: s.parents.read } : undefined,
    })),
    readListItem: (raw, stream) => {
      if (!listItemSchema) return reject('this provider has no list items');
      const parsed = listItemSchema.safeParse(raw);
      if (!parsed.success) return reject(`invalid list item: ${describeIssues(parsed.error)}`);
      const item = parsed.data;
      const stop = spec.list?.find((s) => s.name === stream)?.stopBelow;
      const listed: ListedRun = {
        key: spec.key(item),
        time: spec.itemTime?.(item) ?? null,
        stopTime: stop ? stop(item, options) : null,
        fingerprint: spec.fingerprint(item),
        raw: item,
        asFetched: fromList ? () => fetched(fromList(item)) : null,
        summary: summary ? () => summary(item, source) : null,
      };
      return listed;
    },
    detail: detail
      ? {
          endpoint: detail.request.endpoint,
          path: detail.request.path,
          query: detail.request.query?.({ options, since: 0, now: Date.now() }) ?? {},
          items: detail.request.items,
          pathId: detail.pathId ?? ((key) => key),
          mayReturnOtherRun: detail.mayReturnOtherRun ?? false,
          read: (raw) => {
            const parsed = detail.schema.safeParse(raw);
            if (!parsed.success) return reject(describeIssues(parsed.error));
            return fetched(parsed.data);
          },
        }
      : null,
  };
}
