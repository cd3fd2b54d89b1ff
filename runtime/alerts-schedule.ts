import type { Client } from '@temporalio/client';
import type { RunsyncConfig } from '../config/schema.js';
import type { alerts, AlertsInput } from '../workflows/alerts.js';
import { applySingletonSchedule } from './schedules.js';

export const ALERTS_SCHEDULE_ID = 'runsync-alerts';

/**
 * The Schedule that evaluates the alert rules (`alerts.schedule`, cron in UTC); removed
 * when no rule is configured. Returns the schedule id, or null. An evaluation still
 * delivering is not stacked with the next one.
 */
export function applyAlertsSchedule(client: Client, config: RunsyncConfig, taskQueue: string): Promise<string | null> {
  const action = { type: 'startWorkflow' as const, workflowType: 'alerts' as unknown as typeof alerts, workflowId: 'runsync-alerts', taskQueue, args: [{}] as [AlertsInput] };
  return applySingletonSchedule(client, ALERTS_SCHEDULE_ID, config.alerts.rules.length > 0, config.alerts.schedule, action, '1 minute');
}
