/** Temporal connection options from the environment (the README's examples are these cases). */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { temporalConnectOptions } from '../../runtime/temporal-connection.js';

const dir = mkdtempSync(join(tmpdir(), 'tls-'));
const pem = (name: string, body: string) => {
  const p = join(dir, name);
  writeFileSync(p, `-----BEGIN ${body}-----\nAAAA\n-----END ${body}-----\n`);
  return p;
};
const CERT = pem('client.pem', 'CERTIFICATE');
const KEY = pem('client.key', 'PRIVATE KEY');
const CA = pem('ca.pem', 'CERTIFICATE');

describe('temporalConnectOptions', () => {
  it('a self-hosted cluster without TLS', () => {
    expect(temporalConnectOptions('temporal:7233', {})).toEqual({ address: 'temporal:7233' });
  });

  it('Temporal Cloud with an API key: TLS on, the key, the namespace as metadata', () => {
    const env = { TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'runsync.a1b2c', TEMPORAL_API_KEY: 'key-123' };
    expect(temporalConnectOptions(env.TEMPORAL_ADDRESS, env, env.TEMPORAL_NAMESPACE)).toEqual({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      tls: true,
      apiKey: 'key-123',
      metadata: { 'temporal-namespace': 'runsync.a1b2c' },
    });
  });

  it('Temporal Cloud with mTLS certificates: the PEM files read, and an optional CA and server name', () => {
    const env = { TEMPORAL_ADDRESS: 'runsync.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'runsync.a1b2c', TEMPORAL_TLS_CERT: CERT, TEMPORAL_TLS_KEY: KEY };
    expect(temporalConnectOptions(env.TEMPORAL_ADDRESS, env, env.TEMPORAL_NAMESPACE)).toEqual({
      address: 'runsync.a1b2c.tmprl.cloud:7233',
      tls: { clientCertPair: { crt: readFileSync(CERT), key: readFileSync(KEY) } },
    });
    const self = temporalConnectOptions('temporal.internal:7233', { TEMPORAL_TLS_CERT: CERT, TEMPORAL_TLS_KEY: KEY, TEMPORAL_TLS_CA: CA, TEMPORAL_TLS_SERVER_NAME: 'temporal' });
    expect(self.tls).toEqual({ clientCertPair: { crt: readFileSync(CERT), key: readFileSync(KEY) }, serverRootCACertificate: readFileSync(CA), serverNameOverride: 'temporal' });
  });

  it('TLS with the system roots only', () => {
    expect(temporalConnectOptions('t:7233', { TEMPORAL_TLS: 'true' })).toEqual({ address: 't:7233', tls: true });
  });

  it('refuses half an mTLS setup and names unreadable files', () => {
    expect(() => temporalConnectOptions('t:7233', { TEMPORAL_TLS_CERT: CERT })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    expect(() => temporalConnectOptions('t:7233', { TEMPORAL_TLS_CERT: CERT, TEMPORAL_TLS_KEY: join(dir, 'nope.key') })).toThrow(/TEMPORAL_TLS_KEY: cannot read .*nope\.key: ENOENT/);
  });

  it('the worker connection accepts these options (a TLS handshake attempt to a plain port fails as a connection error, not as bad options)', async () => {
    const opts = temporalConnectOptions('127.0.0.1:1', { TEMPORAL_API_KEY: 'k' }, 'ns');
    await expect(NativeConnection.connect({ ...opts, connectTimeout: '1s' } as Parameters<typeof NativeConnection.connect>[0])).rejects.toThrow(/connect|transport|refused|tcp/i);
  });
});
