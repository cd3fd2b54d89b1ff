import { parseConfig } from '../../config/load.js';
import { describe, expect, it } from 'vitest';
import { normaliseStatus, isTerminal } from '../../core/status.js';
import { computeDurations } from '../../core/durations.js';
import { parseTimestamp, parseDuration } from '../../core/time.js';
import { strait } from '../../providers/strait.js';

describe('status mapping (Strait, per the contract table)', () => {
  const cases: [string, string, boolean][] = [
    ['pending', 'queued', false],
    ['running', 'running', false],
    ['compensating', 'running', false],
    ['paused', 'waiting', false],
    ['completed', 'succeeded', true],
    ['failed', 'failed', true],
    ['compensated', 'failed', true],
    ['compensation_failed', 'failed', true],
    ['timed_out', 'timed_out', true],
    ['canceled', 'cancelled', true],
    ['exploded', 'unknown', false],
  ];
  it.each(cases)('%s → %s (terminal: %s)', (raw, normal, terminal) => {
    const s = normaliseStatus(strait.bind(parseConfig({ sources: [{ name: 's', provider: 'strait', baseUrl: 'http://x', tokenEnv: 'T', options: { projectId: 'p' } }] }).sources[0]).runStatuses, raw);
    expect(s).toBe(normal);
    expect(isTerminal(s)).toBe(terminal);
  });
});

describe('durations', () => {
  it('computes queue, duration and total', () => {
    expect(computeDurations(1000, 3000, 10_000)).toEqual({ queue_ms: 2000, duration_ms: 7000, total_ms: 9000, negative: [] });
  });
  it('leaves NULL where an end is unknown (DX has no created time, Anon no start time)', () => {
    expect(computeDurations(null, 3000, 10_000)).toMatchObject({ queue_ms: null, duration_ms: 7000, total_ms: null });
    expect(computeDurations(1000, null, 10_000)).toMatchObject({ queue_ms: null, duration_ms: null, total_ms: 9000 });
    expect(computeDurations(1000, 3000, null)).toMatchObject({ duration_ms: null, total_ms: null });
  });
  it('stores a negative difference as NULL and reports it', () => {
    const d = computeDurations(5000, 3000, 10_000);
    expect(d.queue_ms).toBeNull();
    expect(d.duration_ms).toBe(7000);
    expect(d.negative).toEqual(['queue_ms would be -2000 ms']);
  });
});

describe('timestamps', () => {
  it('parses any fraction length, Z or offset, into UTC milliseconds', () => {
    const base = Date.UTC(2025, 6, 10, 16, 56, 24, 155);
    expect(parseTimestamp('2025-07-10T16:56:24.155Z')).toBe(base);
    expect(parseTimestamp('2025-07-10T16:56:24.155999999Z')).toBe(base);
    expect(parseTimestamp('2025-07-10T18:56:24.155+02:00')).toBe(base);
    expect(parseTimestamp('2025-07-10T16:56:24.1Z')).toBe(base - 55);
    expect(parseTimestamp('2025-07-10T16:56:24Z')).toBe(base - 155);
    expect(parseTimestamp('2025-07-10 16:56:24.155')).toBe(base);
    expect(parseTimestamp(null)).toBeNull();
    expect(() => parseTimestamp('yesterday', 'started_at')).toThrow(/started_at: not a timestamp/);
  });
  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(() => parseDuration('2 hours')).toThrow(/not a duration/);
  });
});
