import type { ClickHouseClient } from '@clickhouse/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RunsyncConfig } from '../config/schema.js';
import { recordDelivery, recordEvents, readEvent, transitions, undelivered, type EventRef } from '../alerts/state.js';
import { send } from '../notifiers/index.js';
import { logger } from '../core/log.js';

export interface AlertActivityDeps {
  client: ClickHouseClient;
  config: RunsyncConfig;
  env?: NodeJS.ProcessEnv;
}

/** One delivery to make: an event and the notifier it goes to. */
export interface Delivery {
  event: EventRef;
  notifiers: string[];
}

/** An event whose delivery failed this many times is left alone (its row keeps the error). */
export const MAX_DELIVERY_ROUNDS = 5;

const log = logger({ component: 'alerts' });

export function createAlertActivities(deps: AlertActivityDeps) {
  const env = deps.env ?? process.env;
  const notifiersOf = (alert: string) => deps.config.alerts.rules.find((r) => r.name === alert)?.notify ?? [];
  return {
    /**
     * Evaluates every rule now, records firings and resolutions in alert_events, and returns
     * what to deliver: the new events and earlier ones not delivered yet.
     */
    async evaluateAlerts(input: { now?: number } = {}): Promise<Delivery[]> {
      const now = input.now ?? Date.now();
      const events = await transitions(deps.client, deps.config, now);
      await recordEvents(deps.client, events);
      for (const e of events) log.info(`alert ${e.state}`, { alert: e.alert, key: e.key });
      const pending = await undelivered(deps.client, MAX_DELIVERY_ROUNDS);
      return pending.map((event) => ({ event, notifiers: notifiersOf(event.alert) }));
    },

    /** Sends one event to one notifier; a failure is retried by Temporal. */
    async deliverAlert(input: { event: EventRef; notifier: string }): Promise<void> {
      const cfg = deps.config.alerts.notifiers[input.notifier];
      if (!cfg) throw ApplicationFailure.nonRetryable(`notifier "${input.notifier}" is not in the configuration`, 'ConfigError');
      const e = await readEvent(deps.client, input.event);
      const title = `[runsync] ${e.state === 'firing' ? 'FIRING' : 'RESOLVED'} ${e.alert}: ${e.key}`;
      await send(input.notifier, cfg, { title, text: e.message, fields: { alert: e.alert, key: e.key, state: e.state, at: new Date(e.at).toISOString(), message: e.message } }, env);
    },

    /** Writes how the event's delivery went on its row in alert_events. */
    async recordAlertDelivery(input: { event: EventRef; errors: string[] }): Promise<void> {
      const e = await readEvent(deps.client, input.event);
      await recordDelivery(deps.client, e, input.errors.length === 0, input.errors.join('; '));
      if (input.errors.length) log.warn('alert not delivered', { alert: e.alert, key: e.key, error: input.errors.join('; ') });
    },
  };
}

export type AlertActivities = ReturnType<typeof createAlertActivities>;
