import { proxyActivities } from '@temporalio/workflow';
import type { ReportActivities, WeeklyReportInput, WeeklyReportResult } from '../activities/report.js';

const { generateWeeklyReport, deliverReport } = proxyActivities<ReportActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});

/**
 * The weekly reliability report, started by the `runsync-report` schedule: stored, then
 * delivered to `report.deliver` and to each owner (cut to their workflows). A delivery
 * that still fails after Temporal's retries is reported in the result, not raised.
 */
export async function weeklyReport(input: WeeklyReportInput = {}): Promise<WeeklyReportResult & { undelivered: string[] }> {
  const result = await generateWeeklyReport(input);
  const undelivered: string[] = [];
  for (const d of result.deliveries ?? []) {
    try {
      await deliverReport(d);
    } catch (e) {
      let err = e as Error & { cause?: unknown };
      while (err.cause instanceof Error) err = err.cause as Error & { cause?: unknown };
      undelivered.push(`${d.owner ? `${d.owner} via ` : ''}${d.notifier}: ${err.message}`);
    }
  }
  return { ...result, undelivered };
}
