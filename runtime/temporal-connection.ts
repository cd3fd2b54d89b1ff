import { readFileSync } from 'node:fs';

/** What both `Connection.connect` (client) and `NativeConnection.connect` (worker) take. */
export interface TemporalConnectOptions {
  address: string;
  tls?: boolean | { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer; serverNameOverride?: string };
  apiKey?: string;
  metadata?: Record<string, string>;
}

/**
 * Connection options from the environment:
 * - Temporal Cloud with an API key: TEMPORAL_API_KEY (TLS on; the namespace travels as
 *   `temporal-namespace` metadata, which regional endpoints need);
 * - mTLS (Temporal Cloud certificates or a self-hosted cluster): TEMPORAL_TLS_CERT and
 *   TEMPORAL_TLS_KEY (PEM files), optionally TEMPORAL_TLS_CA and TEMPORAL_TLS_SERVER_NAME;
 * - TLS with the system's roots only: TEMPORAL_TLS=true.
 */
export function temporalConnectOptions(address: string, env: NodeJS.ProcessEnv, namespace?: string): TemporalConnectOptions {
  const cert = env.TEMPORAL_TLS_CERT;
  const key = env.TEMPORAL_TLS_KEY;
  if (!!cert !== !!key) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both (PEM files) for mTLS, or neither');
  const file = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`${name}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const out: TemporalConnectOptions = { address };
  if (cert && key) {
    out.tls = {
      clientCertPair: { crt: file('TEMPORAL_TLS_CERT', cert), key: file('TEMPORAL_TLS_KEY', key) },
      ...(env.TEMPORAL_TLS_CA ? { serverRootCACertificate: file('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA) } : {}),
      ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
    };
  } else if (env.TEMPORAL_API_KEY || env.TEMPORAL_TLS === 'true') {
    out.tls = env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : true;
  }
  if (env.TEMPORAL_API_KEY) {
    out.apiKey = env.TEMPORAL_API_KEY;
    if (namespace) out.metadata = { 'temporal-namespace': namespace };
  }
  return out;
}
