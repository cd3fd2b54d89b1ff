export interface Durations {
  queue_ms: number | null;
  duration_ms: number | null;
  total_ms: number | null;
  /** Differences that came out negative: a data error, stored as NULL and reported. */
  negative: string[];
}

function diff(name: string, from: number | null, to: number | null, negative: string[]): number | null {
  if (from === null || to === null) return null;
  const d = to - from;
  if (d < 0) {
    negative.push(`${name} would be ${d} ms`);
    return null;
  }
  return d;
}

/** queue = started − created, duration = finished − started, total = finished − created (contract). */
export function computeDurations(created: number | null, started: number | null, finished: number | null): Durations {
  const negative: string[] = [];
  return {
    queue_ms: diff('queue_ms', created, started, negative),
    duration_ms: diff('duration_ms', started, finished, negative),
    total_ms: diff('total_ms', created, finished, negative),
    negative,
  };
}
