import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { RunsyncConfig } from '../config/schema.js';
import type { alerts, AlertsInput } from '../workflows/alerts.js';

export const ALERTS_SCHEDULE_ID = 'runsync-alerts';

/**
 * The Schedule that evaluates the alert rules (`alerts.schedule`, cron in UTC); removed
 * when no rule is configured. Returns the schedule id, or null.
 */
export async function applyAlertsSchedule(client: Client, config: RunsyncConfig, taskQueue: string): Promise<string | null> {
  const handle = client.schedule.getHandle(ALERTS_SCHEDULE_ID);
  if (config.alerts.rules.length === 0) {
    await handle.delete().catch(() => undefined);
    return null;
  }
  const options = {
    scheduleId: ALERTS_SCHEDULE_ID,
    spec: { cronExpressions: [config.alerts.schedule] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'alerts' as unknown as typeof alerts,
      workflowId: 'runsync-alerts',
      taskQueue,
      args: [{}] as [AlertsInput],
    },
    // An evaluation still delivering is not stacked with the next one.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
  };
  try {
    await client.schedule.create(options);
  } catch (e) {
    if ((e as Error).name !== 'ScheduleAlreadyRunning') throw e;
    await handle.update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
  }
  return ALERTS_SCHEDULE_ID;
}
