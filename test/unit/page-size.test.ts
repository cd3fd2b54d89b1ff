import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { streamCollection } from '../../sync/engine.js';
import { strait } from '../../providers/strait.js';
import { tracecat } from '../../providers/tracecat.js';

const src = (provider: string, options: Record<string, unknown>, pageSize?: number) =>
  parseConfig({ sources: [{ name: 's', provider, baseUrl: 'http://x', tokenEnv: 'T', options, ...(pageSize ? { pageSize } : {}) }] }).sources[0];

const limitOf = (c: ReturnType<typeof streamCollection>) => (c.paging as { limit: number }).limit;

describe("a source's pageSize", () => {
  it('replaces the listing page size, never above what the provider accepts', () => {
    expect(limitOf(streamCollection(strait.list![0], src('strait', { projectId: 'p' })))).toBe(100);
    expect(limitOf(streamCollection(strait.list![0], src('strait', { projectId: 'p' }, 30)))).toBe(30);
    expect(limitOf(streamCollection(strait.list![0], src('strait', { projectId: 'p' }, 500)))).toBe(100);
    expect(limitOf(streamCollection(tracecat.list![0], src('tracecat', { workspaceId: 'w' }, 800)))).toBe(800);
    expect(limitOf(streamCollection(tracecat.list![0], src('tracecat', { workspaceId: 'w' }, 1000)))).toBe(1000);
  });
});
