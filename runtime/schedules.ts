import { ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { RunsyncConfig } from '../config/schema.js';
import type { scheduledSync } from '../workflows/scheduled-sync.js';
import type { weeklyReport } from '../workflows/weekly-report.js';

export const SYNC_SCHEDULE_PREFIX = 'runsync-sync-';

/**
 * One Temporal Schedule per enabled source (overlap: skip, so a slow sync is never
 * stacked). Each tick runs `scheduledSync`, which starts the sync under the source's own
 * workflow id, or skips when a sync of the source started elsewhere is in flight. With `prune`, schedules of sources no longer in the config are deleted: only
 * where one config owns the namespace (`start`), never from workers that may run older configs.
 */
export async function applySchedules(client: Client, config: RunsyncConfig, taskQueue: string, opts: { prune?: boolean } = {}): Promise<string[]> {
  const wanted = new Map(config.sources.filter((s) => s.enabled).map((s) => [SYNC_SCHEDULE_PREFIX + s.name, s]));
  for (const [scheduleId, s] of wanted) {
    const action = { type: 'startWorkflow' as const, workflowType: 'scheduledSync' as unknown as typeof scheduledSync, workflowId: `scheduled-sync-${s.name}`, taskQueue, args: [{ source: s.name }] as [{ source: string }] };
    await upsertSchedule(client, scheduleId, s.schedule, action, '1 minute');
  }
  if (opts.prune) {
    for await (const sched of client.schedule.list()) {
      if (sched.scheduleId.startsWith(SYNC_SCHEDULE_PREFIX) && !wanted.has(sched.scheduleId)) {
        await client.schedule.getHandle(sched.scheduleId).delete();
      }
    }
  }
  return [...wanted.keys()];
}

export const REPORT_SCHEDULE_ID = 'runsync-report';

/**
 * The weekly reliability report's schedule (`report.schedule`, cron in UTC);
 * removed when `report.enabled` is false. Returns the schedule id, or null.
 */
export function applyReportSchedule(client: Client, config: RunsyncConfig, taskQueue: string): Promise<string | null> {
  const action = { type: 'startWorkflow' as const, workflowType: 'weeklyReport' as unknown as typeof weeklyReport, workflowId: 'runsync-weekly-report', taskQueue, args: [{}] as [{ week?: string }] };
  return applySingletonSchedule(client, REPORT_SCHEDULE_ID, config.report.enabled, config.report.schedule, action, '1 day');
}

/**
 * Creates the schedule, or updates it in place when it exists (a redeploy changes the cron
 * or the task queue). Overlap: skip, so a run still going is never stacked with the next.
 */
async function upsertSchedule(client: Client, scheduleId: string, cron: string, action: ScheduleOptionsAction, catchupWindow: string): Promise<void> {
  const spec = { cronExpressions: [cron] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
  } catch (e) {
    if ((e as Error).name !== 'ScheduleAlreadyRunning') throw e;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies }));
  }
}

/** One schedule of its kind (the report, the alerts): applied when `enabled`, removed when not. Returns its id, or null. */
export async function applySingletonSchedule(
  client: Client,
  scheduleId: string,
  enabled: boolean,
  cron: string,
  action: ScheduleOptionsAction,
  catchupWindow: string,
): Promise<string | null> {
  if (!enabled) {
    await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    return null;
  }
  await upsertSchedule(client, scheduleId, cron, action, catchupWindow);
  return scheduleId;
}
