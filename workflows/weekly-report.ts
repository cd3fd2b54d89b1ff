import { proxyActivities } from '@temporalio/workflow';
import type { ReportActivities, WeeklyReportInput, WeeklyReportResult } from '../activities/report.js';

const { generateWeeklyReport } = proxyActivities<ReportActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});

/** The weekly reliability report, started by the `runsync-report` schedule. */
export async function weeklyReport(input: WeeklyReportInput = {}): Promise<WeeklyReportResult> {
  return generateWeeklyReport(input);
}
