// The container's HEALTHCHECK: runsync workers and `runsync serve` answer /healthz on
// RUNSYNC_METRICS_PORT while they run. Node's fetch: the slim image has no curl or wget.
const port = process.env.RUNSYNC_METRICS_PORT || '9464';
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
