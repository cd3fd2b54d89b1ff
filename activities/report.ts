import type { ClickHouseClient } from '@clickhouse/client';
import type { RunsyncConfig } from '../config/schema.js';
import { ApplicationFailure } from '@temporalio/common';
import { send } from '../notifiers/index.js';
import { matches } from '../alerts/rules.js';
import { logger } from '../core/log.js';

export interface ReportActivityDeps {
  client: ClickHouseClient;
  config: RunsyncConfig;
  env?: NodeJS.ProcessEnv;
}

/** One delivery of the report: to a notifier of `report.deliver`, or of an owner (their cut). */
export interface ReportDelivery {
  week: string;
  notifier: string;
  owner?: string;
}

export interface WeeklyReportInput {
  /** '2026-W47'; default: the last complete week at the time the activity runs. */
  week?: string;
}

export interface WeeklyReportResult {
  week: string;
  paths: string[];
  /** What to deliver (names only: the workflow passes them back to deliverReport). */
  deliveries?: ReportDelivery[];
}

const log = logger({ component: 'report' });

/** The report's code (and the query builder under it), loaded when a report is made: every worker registers these activities, most runs never call them. */
const reportCode = () => import('../report/index.js');

export function createReportActivities(deps: ReportActivityDeps) {
  return {
    /** Builds the weekly report in both formats, stores each in `reports` and `<dataDir>/reports/`. */
    async generateWeeklyReport(input: WeeklyReportInput): Promise<WeeklyReportResult> {
      const { generateReport, lastCompleteWeek, parseIsoWeek, storeReport } = await reportCode();
      const week = input.week ? parseIsoWeek(input.week) : lastCompleteWeek();
      const paths: string[] = [];
      for (const format of ['md', 'html'] as const) {
        const { data, body } = await generateReport(deps.client, { week, format });
        paths.push(await storeReport(deps.client, deps.config.dataDir, data, format, body));
      }
      log.info('weekly report stored', { week: week.label, paths });
      const deliveries: ReportDelivery[] = [
        ...deps.config.report.deliver.map((notifier) => ({ week: week.label, notifier })),
        ...deps.config.owners.flatMap((o) => o.notify.map((notifier) => ({ week: week.label, notifier, owner: o.name }))),
      ];
      return { week: week.label, paths, deliveries };
    },

    /** Sends the week's report (an owner's: cut to their sources and workflows) to one notifier; retried by Temporal. */
    async deliverReport(input: ReportDelivery): Promise<void> {
      const cfg = deps.config.alerts.notifiers[input.notifier];
      if (!cfg) throw ApplicationFailure.nonRetryable(`notifier "${input.notifier}" is not in the configuration`, 'ConfigError');
      const owner = input.owner === undefined ? undefined : deps.config.owners.find((o) => o.name === input.owner);
      if (input.owner !== undefined && !owner) throw ApplicationFailure.nonRetryable(`owner "${input.owner}" is not in the configuration`, 'ConfigError');
      // Source patterns name configured sources; a plain name is taken as it is.
      const sources = owner && !owner.sources.includes('*')
        ? [...new Set([...deps.config.sources.map((x) => x.name).filter((n) => matches(owner.sources, n)), ...owner.sources.filter((x) => !x.includes('*'))])]
        : [];
      const { generateReport, parseIsoWeek } = await reportCode();
      const { body } = await generateReport(deps.client, {
        week: parseIsoWeek(input.week),
        format: 'md',
        sources: sources.length ? sources : undefined,
        workflows: owner && !owner.workflows.includes('*') ? owner.workflows : undefined,
      });
      const title = `Reliability report ${input.week}${owner ? ` for ${owner.name}` : ''}`;
      await send(input.notifier, cfg, { title, text: body, fields: { week: input.week, owner: owner?.name ?? '' } }, deps.env ?? process.env);
      log.info('weekly report delivered', { week: input.week, notifier: input.notifier, owner: owner?.name });
    },
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
