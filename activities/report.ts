import type { ClickHouseClient } from '@clickhouse/client';
import type { RunsyncConfig } from '../config/schema.js';
import { generateReport, lastCompleteWeek, parseIsoWeek, storeReport } from '../report/index.js';
import { logger } from '../core/log.js';

export interface ReportActivityDeps {
  client: ClickHouseClient;
  config: RunsyncConfig;
}

export interface WeeklyReportInput {
  /** '2026-W47'; default: the last complete week at the time the activity runs. */
  week?: string;
}

export interface WeeklyReportResult {
  week: string;
  paths: string[];
}

const log = logger({ component: 'report' });

export function createReportActivities(deps: ReportActivityDeps) {
  return {
    /** Builds the weekly report in both formats, stores each in `reports` and `<dataDir>/reports/`. */
    async generateWeeklyReport(input: WeeklyReportInput): Promise<WeeklyReportResult> {
      const week = input.week ? parseIsoWeek(input.week) : lastCompleteWeek();
      const paths: string[] = [];
      for (const format of ['md', 'html'] as const) {
        const { data, body } = await generateReport(deps.client, { week, format });
        paths.push(await storeReport(deps.client, deps.config.dataDir, data, format, body));
      }
      log.info('weekly report stored', { week: week.label, paths });
      return { week: week.label, paths };
    },
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
