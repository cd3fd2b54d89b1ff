import { startChild, workflowInfo, ParentClosePolicy, ChildWorkflowCancellationType } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { syncSource, SyncResult } from './sync-source.js';
import { syncWorkflowId } from './ids.js';


export type ScheduledSyncResult = { source: string; skipped: true; reason: string } | (SyncResult & { skipped: false });

/**
 * What a source's Schedule starts. The schedule gives each action a workflow id of its
 * own (with the tick's time), so the sync itself runs as a child under the source's
 * id: if a sync of the source is already in flight (started by the CLI, another
 * process, or an earlier tick) this tick is skipped instead of running a second one.
 */
export async function scheduledSync(input: { source: string }): Promise<ScheduledSyncResult> {
  let child;
  try {
    child = await startChild<typeof syncSource>('syncSource', {
      workflowId: syncWorkflowId(input.source),
      // The tick's own id is the sync's id in sync_runs: unique per tick.
      args: [{ source: input.source, syncId: workflowInfo().workflowId }],
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return { source: input.source, skipped: true, reason: 'a sync of this source is in flight' };
    throw e;
  }
  return { ...(await child.result()), skipped: false };
}
