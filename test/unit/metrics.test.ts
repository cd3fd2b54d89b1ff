import { describe, expect, it } from 'vitest';
import { metrics, registry, startMetricsServer } from '../../core/metrics.js';

describe('process metrics', () => {
  it('are collected once something can scrape them, not by every process that counts', async () => {
    metrics.apiRequests.labels({ host: 'api.example.test' }).inc();
    expect(registry.getSingleMetric('runsync_process_process_cpu_user_seconds_total')).toBeUndefined();
    const server = await startMetricsServer(0, '127.0.0.1');
    try {
      const body = await (await fetch(`${server.url}/metrics`)).text();
      expect(body).toMatch(/^runsync_process_process_cpu_user_seconds_total \d/m);
      expect(body).toMatch(/^runsync_process_nodejs_eventloop_lag_seconds \d/m);
      expect(body).toMatch(/^runsync_api_requests_total\{host="api\.example\.test"\} 1$/m);
    } finally {
      await server.close();
    }
  });
});
