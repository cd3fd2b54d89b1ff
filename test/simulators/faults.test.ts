/** The fault layer of the simulators: each trap does what it says, deterministically. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { NGINX_502 } from '../../simulators/core/faults.js';
import { nestedText, rewriteItems, withField } from '../helpers/hostile.js';

let sim: StraitSimulator;
let other: StraitSimulator;
const list = () => `${sim.url}/v1/workflow-runs?project_id=proj_demo&limit=100`;

/** Raw GET on node:http, so a dropped connection is seen as such (not retried, not hidden). */
function raw(url: string, token = sim.token, timeoutMs = 10_000): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; error: string | null }> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, error: null }));
      res.on('error', (e) => resolve({ status: res.statusCode!, headers: res.headers, body, error: e.message }));
      res.on('aborted', () => resolve({ status: res.statusCode!, headers: res.headers, body, error: 'aborted' }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: '', error: e.message }));
  });
}

beforeAll(async () => {
  sim = await startStraitSimulator({ seed: 5, initialRuns: 150, runsPerHour: 0 });
  other = await startStraitSimulator({ seed: 6, initialRuns: 5, runsPerHour: 0 });
});
afterAll(async () => {
  await sim?.close();
  await other?.close();
});

describe('fault layer', () => {
  it('cut clean: a complete 200 whose JSON stops half-way; cut close: the connection drops under a full Content-Length', async () => {
    const whole = await raw(list());
    sim.faults.add({ path: /^\/v1\/workflow-runs$/, cut: 'clean', times: 1 });
    const clean = await raw(list());
    expect(clean.status).toBe(200);
    expect(clean.error).toBeNull();
    expect(clean.body.length).toBeGreaterThan(0);
    expect(clean.body.length).toBeLessThan(whole.body.length);
    expect(whole.body.startsWith(clean.body)).toBe(true);
    expect(() => JSON.parse(clean.body)).toThrow();
    sim.faults.add({ path: /^\/v1\/workflow-runs$/, cut: 'close', times: 1 });
    const close = await raw(list());
    expect(close.status).toBe(200);
    expect(Number(close.headers['content-length'])).toBe(Buffer.byteLength(whole.body));
    expect(close.error).not.toBeNull();
    expect(close.body.length).toBeLessThan(whole.body.length);
    expect(sim.faults.injected).toMatchObject({ 'cut-clean': 1, 'cut-close': 1 });
  });

  it('stall: part of the body, then silence past the client timeout', async () => {
    sim.faults.add({ path: /^\/v1\/workflow-runs$/, stallMs: 1_500, times: 1 });
    const t0 = Date.now();
    const r = await raw(list(), sim.token, 500);
    expect(r.error).not.toBeNull();
    expect(Date.now() - t0).toBeLessThan(1_400);
  });

  it('redirect to another origin keeps path and query; an oversized answer streams the asked size', async () => {
    sim.faults.add({ path: /^\/v1\/workflow-runs$/, redirectTo: other.url, times: 1 });
    const r = await raw(list());
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe(`${other.url}/v1/workflow-runs?project_id=proj_demo&limit=100`);
    sim.faults.add({ path: /^\/v1\/workflow-runs$/, bodyBytes: 3_000_000, times: 1 });
    const big = await raw(list());
    expect(big.body.length).toBe(3_000_000);
    expect(JSON.parse(big.body).data).toEqual([]);
  });

  it('rewrite serves hostile text: a non-object item, a record nested 10 000 levels deep', async () => {
    sim.faults.add({ path: /^\/v1\/workflow-runs$/, times: 1, rewrite: (json) => rewriteItems(json, 'data', (items) => [withField(items[0], 'context', nestedText(10_000)), ...items.slice(1), '[]']) });
    const r = await raw(list());
    expect(r.body).toContain('{"a":'.repeat(10_000) + '1');
    const parsed = JSON.parse(r.body) as { data: unknown[] };
    expect(parsed.data[parsed.data.length - 1]).toEqual([]);
  });

  it('random matrix: about the asked share of requests, every kind, the same faults for the same seed', async () => {
    const draw = async () => {
      sim.faults.clear();
      sim.clearRequests();
      sim.faults.random({ rate: 0.3, seed: 9, stallMs: 50, kinds: ['500', '502', '503', '429', '429-retry-after', 'cut-close', 'cut-clean', 'stall'] });
      const seen: string[] = [];
      const ids = sim.truth().runs.slice(0, 100).map((r) => r.id);
      for (let i = 0; i < 200; i++) {
        const r = await raw(`${sim.url}/v1/workflow-runs/${ids[i % 100]}`);
        seen.push(sim.requests[sim.requests.length - 1]?.fault ?? (r.error ? 'error' : String(r.status)));
        if (sim.requests[sim.requests.length - 1]?.fault === '502') expect(r.body).toBe(NGINX_502);
        if (sim.requests[sim.requests.length - 1]?.fault === '429-retry-after') expect(r.headers['retry-after']).toBe('1');
      }
      sim.faults.random(null);
      return seen;
    };
    const a = await draw();
    const b = await draw();
    expect(a).toEqual(b);
    const faulty = a.filter((x) => x !== '200');
    expect(faulty.length).toBeGreaterThan(30);
    expect(faulty.length).toBeLessThan(90);
    expect(new Set(faulty).size).toBe(8);
  });

  it('holdStatus shows an undocumented word on an open run until released', async () => {
    const s = await startStraitSimulator({ seed: 7, initialRuns: 60, runsPerHour: 30 });
    try {
      const id = s.holdStatus('suspended', { minOpenMs: 60_000 });
      const run = () => s.truth().runs.find((r) => r.id === id)!;
      expect(run().status).toBe('suspended');
      expect(run().finished_at).toBeUndefined();
      s.advance(30_000);
      expect(run().status).toBe('suspended');
      s.releaseStatus(id);
      expect(run().status).not.toBe('suspended');
      expect(() => s.holdStatus('x', { minOpenMs: 365 * 86_400_000 })).toThrow(/no run stays open/);
    } finally {
      await s.close();
    }
  });
});
