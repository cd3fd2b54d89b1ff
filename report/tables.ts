/**
 * The report's reliability sections as plain tables, shared by the Markdown and HTML
 * renderers: a cell is text, optionally with a hover text (the workflow id behind a name).
 */
import type { ReportData, RetryRow } from './data.js';
import { chTime, duration, durationChange, percent } from './format.js';

export interface Cell {
  text: string;
  /** Shown on hover in HTML, in brackets in Markdown. */
  hint?: string;
}

export interface SectionTable {
  id: string;
  title: string;
  intro: string;
  head: string[];
  rows: Cell[][];
  /** Said instead of an empty table. */
  empty: string;
  /** Further tables of the section (same shape, no title of their own). */
  more?: { intro: string; head: string[]; rows: Cell[][]; empty: string }[];
}

const t = (text: unknown): Cell => ({ text: String(text ?? '') });
/** A workflow by name, its id on hover; a bare id when the provider gave no name. */
export const workflowCell = (name: string, id: string): Cell => (name && name !== id ? { text: name, hint: id } : { text: id });

const retryCells = (r: RetryRow, label: Cell): Cell[] => [
  label,
  t(r.first_attempts),
  t(percent(r.first_attempt_failure_rate)),
  t(percent(r.final_failure_rate)),
  t(r.rescued_by_retry),
  t(r.retries),
];

const RETRY_HEAD = ['first attempts', 'first-attempt failure rate', 'failure rate after retries', 'rescued by retry', 'retries'];

export function reliabilityTables(d: ReportData): SectionTable[] {
  const rec = d.recovery;
  const costChange = (now: number, before: number | null) => (before === null ? 'new' : durationChange(now, before));
  return [
    {
      id: 'retries',
      title: 'Retries',
      intro:
        'A retry (Strait retry_of_run_id, B3OS sourceRunId, a Tracecat reset) joins the retry chain of the run it retries. ' +
        'First-attempt failure rate: first attempts that failed; after retries: chains whose failed first attempt no retry rescued.',
      head: ['scope', ...RETRY_HEAD],
      rows: d.retries.perSource.map((r) => retryCells(r, r.source ? t(r.source) : t('all sources'))),
      empty: 'no runs this week',
      more: [
        {
          intro: 'Workflows that needed retries most.',
          head: ['source', 'workflow', ...RETRY_HEAD],
          rows: d.retries.workflows.map((r) => [t(r.source), ...retryCells(r, workflowCell(r.workflow_name, r.workflow_id))]),
          empty: 'no retries this week',
        },
      ],
    },
    {
      id: 'recovery',
      title: 'Recovery',
      intro:
        `Recoveries ended this week: ${rec.recoveries}, mean time to recovery ${duration(rec.mttr_ms)}; red time (the latest run had failed) ${duration(rec.red_ms)} over all workflows. ` +
        'A red spell starts with the first failure after a success and ends with the next success.',
      head: ['source', 'workflow', 'red time', 'recoveries', 'MTTR'],
      rows: rec.workflows.map((w) => [t(w.source), workflowCell(w.workflow_name, w.workflow_id), t(duration(w.red_ms)), t(w.recoveries), t(duration(w.mttr_ms))]),
      empty: 'no workflow was red this week',
      more: [
        {
          intro: 'Still failing at the end of the span.',
          head: ['source', 'workflow', 'failing since', 'failed runs'],
          rows: rec.stillFailing.map((w) => [t(w.source), workflowCell(w.workflow_name, w.workflow_id), t(chTime(w.failing_since)), t(w.failed_runs)]),
          empty: 'none',
        },
      ],
    },
    {
      id: 'failure-reasons',
      title: 'Top failure reasons',
      intro: 'Failed runs grouped by error signature: the message with ids, numbers, addresses and times replaced. New: not seen in the source in the four weeks before.',
      head: ['source', 'signature', 'failures', 'workflows', 'sample message'],
      rows: d.reasons.map((r) => [t(r.source), t(`${r.is_new ? 'NEW ' : ''}${r.error_signature || '(no message)'}`), t(r.runs), t(r.workflows.join(', ')), t(r.sample_error)]),
      empty: 'no failures this week',
    },
    {
      id: 'queue-time',
      title: 'Queue time',
      intro: 'Time from a run being created to its start, where the provider reports both.',
      head: ['source', 'runs with queue time', 'p50', 'p95', 'p95 change'],
      rows: d.queue.map((q) =>
        q.runs === 0
          ? [t(q.source), t(0), t('–'), t('–'), t(`${q.provider} gives no creation or start time`)]
          : [t(q.source), t(q.runs), t(duration(q.p50_queue_ms)), t(duration(q.p95_queue_ms)), t(durationChange(q.p95_queue_ms, q.prev_p95_queue_ms))],
      ),
      empty: 'no runs this week',
    },
    {
      id: 'cost',
      title: 'Cost',
      intro: 'Compute units per workflow (B3OS reports them per run), and the change against the same span of the week before.',
      head: ['source', 'workflow', 'runs', 'compute units', 'change'],
      rows: d.cost.map((c) => [t(c.source), workflowCell(c.workflow_name, c.workflow_id), t(c.runs), t(c.cost.toFixed(2)), t(costChange(c.cost, c.prev_cost))]),
      empty: 'no run with a cost this week',
    },
  ];
}
