/**
 * Alert state lives in `alert_events`: an alert (rule, key) is firing when its latest
 * event is a firing. A finding that starts fires once; one that stops resolves once;
 * nothing is written while it stays as it was.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { RunsyncConfig } from '../config/schema.js';
import { fromCh, toCh } from '../core/time.js';
import { nextVersion } from '../warehouse/version.js';
import { evaluateRule, type Finding } from './rules.js';

export interface AlertEvent {
  alert: string;
  key: string;
  state: 'firing' | 'resolved';
  /** Epoch ms. */
  at: number;
  message: string;
}

/** An event by its identity: small enough for a Temporal payload (no message). */
export interface EventRef {
  alert: string;
  key: string;
  state: 'firing' | 'resolved';
  at: number;
}

async function firingNow(client: ClickHouseClient): Promise<Map<string, { alert: string; key: string; message: string }>> {
  const rows = await (
    await client.query({
      query: `SELECT alert, key, argMax(state, at) AS state, argMax(message, at) AS message FROM alert_events FINAL GROUP BY alert, key HAVING state = 'firing'`,
      format: 'JSONEachRow',
    })
  ).json<{ alert: string; key: string; message: string }>();
  return new Map(rows.map((r) => [`${r.alert}\u0000${r.key}`, r]));
}

/** The events evaluating every rule now would write: firings of new findings, resolutions of gone ones. */
export async function transitions(client: ClickHouseClient, config: RunsyncConfig, now: number): Promise<AlertEvent[]> {
  const findings: Finding[] = [];
  for (const rule of config.alerts.rules) findings.push(...(await evaluateRule(client, rule, now)));
  const firing = await firingNow(client);
  const seen = new Set<string>();
  const out: AlertEvent[] = [];
  for (const f of findings) {
    const k = `${f.alert}\u0000${f.key}`;
    seen.add(k);
    if (!firing.has(k)) out.push({ alert: f.alert, key: f.key, state: 'firing', at: now, message: f.message });
  }
  const rules = new Set(config.alerts.rules.map((r) => r.name));
  for (const [k, f] of firing) {
    // A rule removed from the config resolves nothing: its alerts just stop being evaluated.
    if (!seen.has(k) && rules.has(f.alert)) out.push({ alert: f.alert, key: f.key, state: 'resolved', at: now, message: `resolved: ${f.message}` });
  }
  return out;
}

export async function recordEvents(client: ClickHouseClient, events: AlertEvent[]): Promise<void> {
  if (!events.length) return;
  await client.insert({
    table: 'alert_events',
    format: 'JSONEachRow',
    values: events.map((e) => ({ ...e, at: toCh(e.at), delivered: 0, attempts: 0, error: '', version: nextVersion() })),
  });
}

/** Events not delivered yet: new ones, and earlier ones whose delivery failed fewer than `maxRounds` times. */
export async function undelivered(client: ClickHouseClient, maxRounds: number): Promise<EventRef[]> {
  const rows = await (
    await client.query({
      query: `SELECT alert, key, state, at FROM alert_events FINAL WHERE delivered = 0 AND attempts < {max:UInt32} ORDER BY at, alert, key`,
      query_params: { max: maxRounds },
      format: 'JSONEachRow',
    })
  ).json<{ alert: string; key: string; state: 'firing' | 'resolved'; at: string }>();
  return rows.map((r) => ({ ...r, at: fromCh(r.at)! }));
}

export async function readEvent(client: ClickHouseClient, ref: EventRef): Promise<AlertEvent & { attempts: number }> {
  const rows = await (
    await client.query({
      query: `SELECT alert, key, state, at, message, attempts FROM alert_events FINAL WHERE alert = {a:String} AND key = {k:String} AND state = {s:String} AND at = {at:DateTime64(3,'UTC')}`,
      query_params: { a: ref.alert, k: ref.key, s: ref.state, at: toCh(ref.at) },
      format: 'JSONEachRow',
    })
  ).json<{ alert: string; key: string; state: 'firing' | 'resolved'; at: string; message: string; attempts: number }>();
  if (!rows.length) throw new Error(`alert event ${ref.alert}/${ref.key} ${ref.state} at ${new Date(ref.at).toISOString()} not found`);
  return { ...rows[0], at: fromCh(rows[0].at)!, attempts: Number(rows[0].attempts) };
}

/** Records how a delivery went, on the event's own row. */
export async function recordDelivery(client: ClickHouseClient, e: AlertEvent & { attempts: number }, delivered: boolean, error: string): Promise<void> {
  await client.insert({
    table: 'alert_events',
    format: 'JSONEachRow',
    values: [{ alert: e.alert, key: e.key, state: e.state, at: toCh(e.at), message: e.message, delivered: delivered ? 1 : 0, attempts: e.attempts + 1, error, version: nextVersion() }],
  });
}
