import { z } from 'zod';
import cron from 'node-cron';
import { parseDuration } from '../core/time.js';

export const PROVIDERS = ['dx', 'anon', 'strait', 'tracecat', 'b3os'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

const duration = z.string().refine((s) => {
  try {
    parseDuration(s);
    return true;
  } catch {
    return false;
  }
}, 'expected a duration such as "90s", "15m", "2h" or "7d"');

const cronExpr = z.string().refine((s) => cron.validate(s), 'expected a cron expression such as "*/5 * * * *"');

export const sourceSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/i, 'letters, digits, ".", "_" or "-", at most 63 characters'),
    provider: z.enum(PROVIDERS),
    baseUrl: z.string().url(),
    /** Name of the environment variable that holds the API token; the token itself never sits in config. */
    tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as STRAIT_TOKEN'),
    schedule: cronExpr.default('*/5 * * * *'),
    /** How far below the watermark each incremental listing reaches, to catch late or re-ordered runs. */
    lookback: duration.default('2h'),
    /** How long finished runs keep being re-polled: "terminal" can still change (Strait compensation). */
    settle: duration.default('1h'),
    /** First sync reaches this far back; later syncs start from the watermark. */
    backfill: duration.default('30d'),
    pageSize: z.number().int().min(1).max(1000).optional(),
    /**
     * The most requests per second this source may send. The pace below it follows the
     * provider (429s, Retry-After, X-RateLimit-*); sources sharing a token share one pace.
     */
    rateLimit: z.number().positive().default(100),
    /** Runs fetched at the same time within a page (each may take several requests). */
    concurrency: z.number().int().min(1).max(32).default(4),
    timeout: duration.default('30s'),
    maxRetries: z.number().int().min(0).max(20).default(6),
    /** Largest API answer read, in bytes; a larger one fails with an error naming the endpoint. */
    maxResponseBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
    /** Largest single record, in bytes (estimated); a larger one is quarantined. */
    maxItemBytes: z.number().int().min(1024).default(5 * 1024 * 1024),
    /** Deepest nesting of a record; a deeper one is quarantined. */
    maxDepth: z.number().int().min(4).max(1000).default(64),
    /** How far past now a run's time may lie and still move the watermark. */
    futureTolerance: duration.default('1d'),
    /** Store personal data (emails) of the people who triggered runs. */
    personalData: z.boolean().default(false),
    enabled: z.boolean().default(true),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type SourceConfig = z.infer<typeof sourceSchema>;

export const configSchema = z
  .object({
    dataDir: z.string().default('.runsync'),
    sources: z.array(sourceSchema).default([]),
    temporal: z
      .object({
        address: z.string().optional(),
        namespace: z.string().default('default'),
        taskQueue: z.string().default('runsync'),
      })
      .strict()
      .default({ namespace: 'default', taskQueue: 'runsync' }),
    clickhouse: z
      .object({
        /** A ClickHouse cluster: DDL ON CLUSTER and Replicated engines. Unset for one server and ClickHouse Cloud. */
        cluster: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8123),
        /** Environment variable holding the bearer token for the HTTP endpoints (SQL, inbox). */
        tokenEnv: z.string().optional(),
        /** Run ids an inbox-fed source may hold waiting to be polled; more are answered 429. */
        inboxMaxPending: z.number().int().min(1).max(100_000).default(1000),
        /** New run ids a source's inbox takes per minute (a burst of that many, then refilled evenly). */
        inboxIdsPerMinute: z.number().int().min(1).max(100_000).default(1000),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8123, inboxMaxPending: 1000, inboxIdsPerMinute: 1000 }),
    report: z
      .object({
        schedule: cronExpr.default('0 8 * * 1'),
        enabled: z.boolean().default(true),
      })
      .strict()
      .default({ schedule: '0 8 * * 1', enabled: true }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.sources.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name "${s.name}"` });
      seen.add(s.name);
    });
  });

export type RunsyncConfig = z.infer<typeof configSchema>;
