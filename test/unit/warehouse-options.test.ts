import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bookkeepingStatements, clusterStatement, migrationStatements, MIGRATIONS_DIR } from '../../warehouse/migrate.js';
import { httpClientOptions } from '../../warehouse/client.js';

describe('clickhouse.cluster: migration statements', () => {
  it('puts ON CLUSTER after the object name and makes MergeTree engines Replicated', () => {
    expect(clusterStatement('CREATE TABLE IF NOT EXISTS gone_runs (\n  a String\n) ENGINE = ReplacingMergeTree(version)\nORDER BY a', 'prod')).toBe(
      "CREATE TABLE IF NOT EXISTS gone_runs ON CLUSTER 'prod' (\n  a String\n) ENGINE = ReplicatedReplacingMergeTree(version)\nORDER BY a",
    );
    expect(clusterStatement('CREATE TABLE IF NOT EXISTS q (a String) ENGINE = MergeTree ORDER BY a', 'c1')).toBe("CREATE TABLE IF NOT EXISTS q ON CLUSTER 'c1' (a String) ENGINE = ReplicatedMergeTree ORDER BY a");
    expect(clusterStatement('CREATE OR REPLACE VIEW runs AS\nSELECT 1', 'c1')).toBe("CREATE OR REPLACE VIEW runs ON CLUSTER 'c1' AS\nSELECT 1");
    expect(clusterStatement('ALTER TABLE sync_run_versions ADD COLUMN IF NOT EXISTS x UInt32', 'c1')).toBe("ALTER TABLE sync_run_versions ON CLUSTER 'c1' ADD COLUMN IF NOT EXISTS x UInt32");
    expect(clusterStatement("DROP VIEW IF EXISTS old", "it's")).toBe("DROP VIEW IF EXISTS old ON CLUSTER 'it\\'s'");
    expect(() => clusterStatement('INSERT INTO t VALUES (1)', 'c1')).toThrow(/unrecognised migration statement/);
  });

  it('rewrites every statement of every shipped migration, and leaves them alone without a cluster', () => {
    for (const f of readdirSync(MIGRATIONS_DIR).filter((n) => n.endsWith('.sql'))) {
      const sql = readFileSync(join(MIGRATIONS_DIR, f), 'utf8');
      const plain = migrationStatements(sql);
      const clustered = migrationStatements(sql, 'prod');
      expect(clustered).toHaveLength(plain.length);
      clustered.forEach((s, i) => {
        expect(s, `${f} #${i}`).toContain(" ON CLUSTER 'prod'");
        expect(s.replace(" ON CLUSTER 'prod'", '').replace(/ENGINE = Replicated/g, 'ENGINE = ')).toBe(plain[i]);
        expect(s).not.toMatch(/ENGINE = (Replacing)?MergeTree/);
      });
    }
    expect(bookkeepingStatements('prod').every((s) => / ON CLUSTER 'prod' .*ENGINE = Replicated/s.test(s))).toBe(true);
    expect(bookkeepingStatements().some((s) => s.includes('ON CLUSTER'))).toBe(false);
  });
});

describe('ClickHouse connection options', () => {
  it('embedded when CLICKHOUSE_URL is unset', () => {
    expect(httpClientOptions({})).toBeNull();
  });

  it('a self-hosted server: user and password from variables, database from the variable or the URL path', () => {
    expect(httpClientOptions({ CLICKHOUSE_URL: 'http://clickhouse:8123/runsync', CLICKHOUSE_USER: 'runsync', CLICKHOUSE_PASSWORD: 's3cr3t' })).toMatchObject({
      url: 'http://clickhouse:8123',
      username: 'runsync',
      password: 's3cr3t',
      database: 'runsync',
    });
    expect(httpClientOptions({ CLICKHOUSE_URL: 'http://u%40x:p%3Aw@ch:8123', CLICKHOUSE_DATABASE: 'wh' })).toMatchObject({ username: 'u@x', password: 'p:w', database: 'wh' });
  });

  it('ClickHouse Cloud: HTTPS with user and password, no TLS material needed', () => {
    const o = httpClientOptions({ CLICKHOUSE_URL: 'https://abc123.eu-west-1.aws.clickhouse.cloud:8443', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: 'cloud-pw' })!;
    expect(o).toMatchObject({ url: 'https://abc123.eu-west-1.aws.clickhouse.cloud:8443', username: 'default', password: 'cloud-pw', database: 'default' });
    expect(o.tls).toBeUndefined();
  });

  it('a private CA for a self-signed server, refused on plain http', () => {
    const pem = join(mkdtempSync(join(tmpdir(), 'ca-')), 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(httpClientOptions({ CLICKHOUSE_URL: 'https://ch.internal:8443', CLICKHOUSE_CA_CERT: pem })!.tls).toEqual({ ca_cert: readFileSync(pem) });
    expect(() => httpClientOptions({ CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_CA_CERT: pem })).toThrow(/not https/);
    expect(() => httpClientOptions({ CLICKHOUSE_URL: 'clickhouse:8123' })).toThrow(/http:\/\/ or https:\/\//);
  });

  it('the reader acts as the bi user, with compression off, and on the database asked for', () => {
    const env = { CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_USER: 'runsync', CLICKHOUSE_PASSWORD: 'w', CLICKHOUSE_BI_USER: 'bi', CLICKHOUSE_BI_PASSWORD: 'r', CLICKHOUSE_DATABASE: 'runsync' };
    expect(httpClientOptions(env, 'reader', 'other')).toMatchObject({ username: 'bi', password: 'r', database: 'other', compression: { response: false, request: false } });
    expect(httpClientOptions(env, 'writer')).toMatchObject({ username: 'runsync', password: 'w', database: 'runsync' });
    // No bi user configured: the writer's credentials (the endpoint then sends readonly=1 itself).
    expect(httpClientOptions({ ...env, CLICKHOUSE_BI_USER: undefined }, 'reader')).toMatchObject({ username: 'runsync' });
  });
});
