let last = 0;

/**
 * Row versions for ReplacingMergeTree: microseconds since the epoch, strictly increasing
 * within a process, so a later write of the same key always wins.
 */
export function nextVersion(): number {
  const v = Date.now() * 1000;
  last = v > last ? v : last + 1;
  return last;
}
