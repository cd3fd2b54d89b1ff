import { proxyActivities } from '@temporalio/workflow';
import type { AlertActivities } from '../activities/alerts.js';

export interface AlertsInput {
  /** Evaluation time (epoch ms); default: when the activity runs. */
  now?: number;
  /** Delivery retries (Temporal's): attempts per notifier and the first back-off. */
  delivery?: { maximumAttempts?: number; initialIntervalMs?: number };
}

export interface AlertsResult {
  events: number;
  delivered: number;
  failed: number;
}

const { evaluateAlerts, recordAlertDelivery } = proxyActivities<AlertActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});

/**
 * Evaluates the alert rules and delivers what started or stopped. A notifier that keeps
 * failing is retried by Temporal, then recorded as failed on the event's row; it never
 * fails this workflow, and this workflow never runs inside a sync.
 */
export async function alerts(input: AlertsInput = {}): Promise<AlertsResult> {
  const { deliverAlert } = proxyActivities<AlertActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: input.delivery?.initialIntervalMs ?? 10_000, backoffCoefficient: 2, maximumAttempts: input.delivery?.maximumAttempts ?? 5 },
  });
  const deliveries = await evaluateAlerts({ now: input.now });
  let delivered = 0;
  let failed = 0;
  for (const d of deliveries) {
    const errors: string[] = [];
    for (const notifier of d.notifiers) {
      try {
        await deliverAlert({ event: d.event, notifier });
      } catch (e) {
        // The activity's last failure, in one line.
        let err = e as Error & { cause?: unknown };
        while (err.cause instanceof Error) err = err.cause as Error & { cause?: unknown };
        errors.push(err.message);
      }
    }
    await recordAlertDelivery({ event: d.event, errors });
    if (errors.length) failed++;
    else delivered++;
  }
  return { events: deliveries.length, delivered, failed };
}
