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
    /** Run ids from the inbox polled in one sync at most (after the runs already known); the rest wait for the next. */
    inboxPerSync: z.number().int().min(1).default(1000),
    /** Readable names of workflows by id, for providers whose runs carry only the id. */
    workflowNames: z.record(z.string(), z.string().min(1)).default({}),
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

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as SLACK_WEBHOOK_URL');
/** Source or workflow patterns: exact names, `*` matches any run of characters. */
const patterns = z.array(z.string().min(1)).min(1).default(['*']);

/** Where alerts go. URLs and credentials stay in environment variables. */
export const notifierSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('slack'), urlEnv: envName }).strict(),
  z.object({ type: z.literal('webhook'), urlEnv: envName }).strict(),
  z
    .object({
      type: z.literal('email'),
      /** Variable holding an SMTP URL such as smtps://user:password@smtp.example.com:465. */
      smtpUrlEnv: envName,
      from: z.string().min(3),
      to: z.array(z.string().email()).min(1),
    })
    .strict(),
]);
export type NotifierConfig = z.infer<typeof notifierSchema>;

const ruleBase = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/i, 'letters, digits, ".", "_" or "-", at most 63 characters'),
  sources: patterns,
  workflows: patterns,
  /** Notifier names (alerts.notifiers). */
  notify: z.array(z.string()).default([]),
};

export const alertRuleSchema = z.discriminatedUnion('type', [
  /** Failure rate over `window` at or above `threshold`, with at least `minRuns` decided runs. */
  z.object({ ...ruleBase, type: z.literal('failure_rate'), threshold: z.number().min(0).max(1), minRuns: z.number().int().min(1).default(5), window: duration.default('24h') }).strict(),
  /** A failure signature first seen in a workflow within `window` (none in the four weeks before). */
  z.object({ ...ruleBase, type: z.literal('new_signature'), window: duration.default('24h') }).strict(),
  /** p95 duration over `window` above `factor` × the p95 of the four weeks before. */
  z.object({ ...ruleBase, type: z.literal('p95_regression'), factor: z.number().gt(1).default(1.5), minRuns: z.number().int().min(1).default(5), window: duration.default('7d') }).strict(),
  /** A run open longer than `multiple` × its workflow's p95 duration (four weeks), and at least `floor`. */
  z.object({ ...ruleBase, type: z.literal('stuck_run'), multiple: z.number().gt(0).default(3), floor: duration.default('30m') }).strict(),
  /** A source whose last successful sync is older than `maxAge`. */
  z.object({ ...ruleBase, type: z.literal('stale_source'), maxAge: duration.default('2h') }).strict(),
]);
export type AlertRule = z.infer<typeof alertRuleSchema>;

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
        /** Notifier names (alerts.notifiers) that receive the whole weekly report. */
        deliver: z.array(z.string()).default([]),
      })
      .strict()
      .default({ schedule: '0 8 * * 1', enabled: true, deliver: [] }),
    /** Who owns which workflows: each owner receives the weekly report cut to theirs. */
    owners: z
      .array(
        z
          .object({
            name: z.string().min(1),
            sources: patterns,
            /** Workflow ids or names. */
            workflows: patterns,
            notify: z.array(z.string()).min(1),
          })
          .strict(),
      )
      .default([]),
    alerts: z
      .object({
        /** How often the alerts Schedule evaluates the rules. */
        schedule: cronExpr.default('*/5 * * * *'),
        notifiers: z.record(z.string(), notifierSchema).default({}),
        rules: z.array(alertRuleSchema).default([]),
      })
      .strict()
      .default({ schedule: '*/5 * * * *', notifiers: {}, rules: [] }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const notifierRef = (n: string, path: (string | number)[]) => {
      if (!cfg.alerts.notifiers[n]) ctx.addIssue({ code: 'custom', path, message: `unknown notifier "${n}" (alerts.notifiers)` });
    };
    cfg.report.deliver.forEach((n, i) => notifierRef(n, ['report', 'deliver', i]));
    cfg.owners.forEach((o, i) => o.notify.forEach((n, j) => notifierRef(n, ['owners', i, 'notify', j])));
    const rules = new Set<string>();
    cfg.alerts.rules.forEach((r, i) => {
      if (rules.has(r.name)) ctx.addIssue({ code: 'custom', path: ['alerts', 'rules', i, 'name'], message: `duplicate alert name "${r.name}"` });
      rules.add(r.name);
      r.notify.forEach((n, j) => {
        if (!cfg.alerts.notifiers[n]) ctx.addIssue({ code: 'custom', path: ['alerts', 'rules', i, 'notify', j], message: `unknown notifier "${n}" (alerts.notifiers)` });
      });
    });
    const seen = new Set<string>();
    cfg.sources.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name "${s.name}"` });
      seen.add(s.name);
    });
  });

export type RunsyncConfig = z.infer<typeof configSchema>;
