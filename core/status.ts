/** The normalised run/step status vocabulary of the warehouse contract. */
export const NORMAL_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'timed_out', 'cancelled', 'continued', 'unknown'] as const;
export type NormalStatus = (typeof NORMAL_STATUSES)[number];

const TERMINAL = new Set<NormalStatus>(['succeeded', 'failed', 'timed_out', 'cancelled', 'continued']);

export function isTerminal(status: NormalStatus): boolean {
  return TERMINAL.has(status);
}

/** A provider's words for each normalised status; anything unlisted is `unknown` (non-terminal, re-polled). */
export type StatusMap = Partial<Record<Exclude<NormalStatus, 'unknown'>, readonly string[]>>;

export function normaliseStatus(map: StatusMap, raw: string | null | undefined): NormalStatus {
  if (raw === null || raw === undefined) return 'unknown';
  for (const [normal, words] of Object.entries(map) as [NormalStatus, readonly string[]][]) {
    if (words.includes(raw)) return normal;
  }
  return 'unknown';
}
