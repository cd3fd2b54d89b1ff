import { describe, expect, it } from 'vitest';
import { overLimits } from '../../sync/limits.js';

/** An object nested `levels` deep: the outermost object is level 1. */
function nested(levels: number, inner: unknown = 'x'): unknown {
  let v: unknown = inner;
  for (let i = 0; i < levels; i++) v = i % 2 ? { k: v } : [v];
  return v;
}

describe('item limits', () => {
  const limits = { maxDepth: 8, maxBytes: 1_000 };

  it('counts object and array levels alike, up to maxDepth included', () => {
    expect(overLimits(nested(8), limits)).toBeNull();
    expect(overLimits(nested(9), limits)).toMatch(/nested deeper than 8 levels \(maxDepth\)/);
  });

  it('walks a record nested far deeper than the call stack allows without overflowing', () => {
    expect(overLimits(nested(200_000), { maxDepth: 64, maxBytes: 1e9 })).toMatch(/deeper than 64/);
  });

  it('refuses a record larger than maxBytes, whether in one string, many keys or many items', () => {
    expect(overLimits({ a: 'x'.repeat(1_000) }, limits)).toMatch(/larger than 1000 bytes \(maxItemBytes\)/);
    expect(overLimits(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`key${i}`, 1])), limits)).toMatch(/maxItemBytes/);
    expect(overLimits(Array.from({ length: 300 }, () => true), limits)).toMatch(/maxItemBytes/);
  });

  it('lets an ordinary record through, with every kind of value', () => {
    expect(overLimits({ id: 'r1', n: 3, ok: true, none: null, tags: ['a', 'b'], inner: { at: '2026-01-01' } }, limits)).toBeNull();
    expect(overLimits('plain', limits)).toBeNull();
    expect(overLimits(undefined, limits)).toBeNull();
  });

  it('counts only a record’s own keys', () => {
    const proto = { inherited: 'y'.repeat(5_000) };
    const rec = Object.create(proto) as Record<string, unknown>;
    rec.own = 'x';
    expect(overLimits(rec, limits)).toBeNull();
  });
});
