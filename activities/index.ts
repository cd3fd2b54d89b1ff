import { createSyncActivities, type SyncActivityDeps } from './sync.js';
import { createReportActivities } from './report.js';
import { createAlertActivities } from './alerts.js';

/** All activities, bound to one process's warehouse client and configuration. */
export function createActivities(deps: SyncActivityDeps) {
  return {
    ...createSyncActivities(deps),
    ...createReportActivities(deps),
    ...createAlertActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
