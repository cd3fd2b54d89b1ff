import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { strait } from '../../providers/strait.js';
import { tracecat } from '../../providers/tracecat.js';

const src = (provider: string, options: Record<string, unknown>, pageSize?: number) =>
  parseConfig({ sources: [{ name: 's', provider, baseUrl: 'http://x', tokenEnv: 'T', options, ...(pageSize ? { pageSize } : {}) }] }).sources[0];

const limitOf = (p: { bind: typeof strait.bind }, source: ReturnType<typeof src>) => p.bind(source).streams[0].collection.paging.limit;

describe("a source's pageSize", () => {
  it('replaces the listing page size, never above what the provider accepts', () => {
    expect(limitOf(strait, src('strait', { projectId: 'p' }))).toBe(100);
    expect(limitOf(strait, src('strait', { projectId: 'p' }, 30))).toBe(30);
    expect(limitOf(strait, src('strait', { projectId: 'p' }, 500))).toBe(100);
    expect(limitOf(tracecat, src('tracecat', { workspaceId: 'w' }, 800))).toBe(800);
    expect(limitOf(tracecat, src('tracecat', { workspaceId: 'w' }, 1000))).toBe(1000);
  });
});
