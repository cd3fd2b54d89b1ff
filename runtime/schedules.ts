import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
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
    const options = {
      scheduleId,
      spec: { cronExpressions: [s.schedule] },
      action: {
        type: 'startWorkflow' as const,
        workflowType: 'scheduledSync' as unknown as typeof scheduledSync,
        workflowId: `scheduled-sync-${s.name}`,
        taskQueue,
        args: [{ source: s.name }] as [{ source: string }],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    };
    try {
      await client.schedule.create(options);
    } catch (e) {
      if ((e as Error).name !== 'ScheduleAlreadyRunning') throw e;
      await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
    }
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
export async function applyReportSchedule(client: Client, config: RunsyncConfig, taskQueue: string): Promise<string | null> {
  const handle = client.schedule.getHandle(REPORT_SCHEDULE_ID);
  if (!config.report.enabled) {
    await handle.delete().catch(() => undefined);
    return null;
  }
  const options = {
    scheduleId: REPORT_SCHEDULE_ID,
    spec: { cronExpressions: [config.report.schedule] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'weeklyReport' as unknown as typeof weeklyReport,
      workflowId: 'runsync-weekly-report',
      taskQueue,
      args: [{}] as [{ week?: string }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  };
  try {
    await client.schedule.create(options);
  } catch (e) {
    if ((e as Error).name !== 'ScheduleAlreadyRunning') throw e;
    await handle.update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
  }
  return REPORT_SCHEDULE_ID;
}
