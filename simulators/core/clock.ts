/**
 * Simulated clock. Time moves only when someone calls advance(), so every
 * timestamp a simulator produces is reproducible from (seed, start, advances).
 */
export const DEFAULT_START = Date.parse('2026-11-16T00:00:00Z');

export interface Clock {
  now(): number;
  advance(ms: number): void;
}

export class SimClock implements Clock {
  private t: number;
  constructor(start: number = DEFAULT_START) {
    if (!Number.isFinite(start)) throw new Error(`invalid clock start: ${start}`);
    this.t = Math.floor(start);
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`clock can only move forward (got ${ms})`);
    this.t += Math.floor(ms);
  }
  /** Only for building the initial history before the simulator is served. */
  rewind(t: number): void {
    this.t = Math.floor(t);
  }
  /** Used by the world to step through scheduled instants; never moves backwards. */
  set(t: number): void {
    if (t < this.t) throw new Error(`clock cannot go back from ${this.t} to ${t}`);
    this.t = Math.floor(t);
  }
}
