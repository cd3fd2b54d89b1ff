import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { acme } from '../../docs/examples/acme-provider.js';
import { isRejected } from '../../providers/types.js';
import { parseConfig } from '../../config/load.js';

/** The README's provider example is a compiled file; the README shows it as it is. */
describe("the README's provider example", () => {
  it('is the file that compiles with the rest of the code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../../docs/examples/acme-provider.ts', import.meta.url), 'utf8');
    expect(readme).toContain('```ts\n' + example + '```');
  });

  it('works: a list item is read with its key, time and change marker', () => {
    const source = parseConfig({ sources: [{ name: 'a', provider: 'strait', baseUrl: 'http://x', tokenEnv: 'T', options: { projectId: 'p' } }] }).sources[0];
    const bound = acme.bind({ ...source, options: { teamId: 't1' } });
    expect(bound.streams[0].collection.query({ since: 0, now: 0 })).toEqual({ team: 't1', updated_after: '1970-01-01T00:00:00.000Z' });
    const listed = bound.readListItem({ id: 'r1', pipeline: 'p', status: 'DONE', created_at: '2026-11-20T10:00:00Z', updated_at: '2026-11-20T10:05:00Z' }, 'runs');
    expect(isRejected(listed)).toBe(false);
    if (!isRejected(listed)) expect([listed.key, listed.time]).toEqual(['r1', Date.parse('2026-11-20T10:05:00Z')]);
    expect(isRejected(bound.readListItem({ id: 'r2' }, 'runs'))).toBe(true);
  });
});
