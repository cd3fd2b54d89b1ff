/** The deployment files: the example config is valid, users and secrets line up with the env examples. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../config/load.js';
import { missingTokens } from '../../runtime/tokens.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');
const envNames = (text: string) => new Set([...text.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]));

describe('deploy/', () => {
  const config = parseConfig(JSON.parse(read('deploy/runsync.config.example.json')), 'deploy/runsync.config.example.json');

  it('the example config is valid and serves behind the token the env file defines', () => {
    expect(config.sources.length).toBeGreaterThan(0);
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8124, tokenEnv: 'RUNSYNC_TOKEN' });
    expect(envNames(read('deploy/env.example')).has('RUNSYNC_TOKEN')).toBe(true);
  });

  it("every example source's token is in the runsync env example, and a worker names the ones missing", () => {
    const tokens = envNames(read('deploy/runsync.env.example'));
    for (const s of config.sources) expect(tokens.has(s.tokenEnv), s.tokenEnv).toBe(true);
    expect(missingTokens(config, {})).toEqual(config.sources.map((s) => `${s.name} (${s.tokenEnv})`));
    expect(missingTokens(config, Object.fromEntries(config.sources.map((s) => [s.tokenEnv, 'x'])))).toEqual([]);
    const one = { ...config, sources: config.sources.map((s, i) => ({ ...s, enabled: i === 0 })) };
    expect(missingTokens(one, {})).toEqual([`${config.sources[0].name} (${config.sources[0].tokenEnv})`]);
  });

  it('ClickHouse users: a writer and a read-only bi user, passwords from the environment only', () => {
    const xml = read('deploy/clickhouse/users.xml');
    expect(xml).toMatch(/<runsync>\s*<password from_env="CLICKHOUSE_WRITER_PASSWORD"\/>/);
    expect(xml).toMatch(/<bi>\s*<password from_env="CLICKHOUSE_BI_PASSWORD"\/>[\s\S]*<profile>runsync_bi<\/profile>[\s\S]*GRANT SELECT ON runsync\.\*<\/query>/);
    expect(xml).toMatch(/<runsync_bi>\s*<readonly>2<\/readonly>/);
    expect(xml).not.toMatch(/<password>[^<]/);
    const env = envNames(read('deploy/env.example'));
    for (const v of ['CLICKHOUSE_WRITER_PASSWORD', 'CLICKHOUSE_BI_PASSWORD', 'TEMPORAL_DB_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) expect(env.has(v), v).toBe(true);
  });

  it('the compose file pins every image and gates every start on health', () => {
    const compose = read('docker-compose.yml');
    const images = [...compose.matchAll(/^\s+image: (\S+)/gm)].map((m) => m[1]);
    expect(images.length).toBeGreaterThanOrEqual(6);
    for (const image of images) expect(image, image).toMatch(/:\d+(\.\d+)+(-[a-z]+)?$/);
    expect(compose).not.toMatch(/condition: service_started/);
    expect(compose).not.toMatch(/^name:/m);
  });
});
