import { afterEach, describe, expect, it } from 'vitest';
import { logger, registerSecret, setLogFormat, setLogLevel, setLogSink } from '../../core/log.js';

function capture(): string[] {
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  return lines;
}

afterEach(() => {
  setLogFormat('text');
  setLogLevel('warn');
});

describe('log lines', () => {
  it('text: ISO time with Z, level, message, fields; nothing for undefined fields', () => {
    const lines = capture();
    setLogLevel('info');
    logger({ component: 'x' }).info('sync finished', { source: 'a b', error: undefined, n: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  sync finished component=x source="a b" n=3$/);
  });

  it('control characters are escaped, so a provider text cannot break or forge a line', () => {
    const lines = capture();
    setLogLevel('info');
    logger().warn('run fetch failed\n2026-01-01T00:00:00.000Z ERROR forged', { error: 'bad\r\nthing\u001b[31m' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\u0000-\u001f]/);
    expect(lines[0]).toContain('run fetch failed\\n2026-01-01T00:00:00.000Z ERROR forged');
    expect(lines[0]).toContain('error="bad\\r\\nthing\\u001b[31m"');
  });

  it('json: one object per line, secrets scrubbed', () => {
    const lines = capture();
    setLogLevel('debug');
    setLogFormat('json');
    registerSecret('tok_very_secret_123');
    logger({ component: 'http' }).debug('request', { request: 'GET http://x/api?token=tok_very_secret_123', status: 200 });
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]);
    expect(rec).toMatchObject({ level: 'debug', msg: 'request', component: 'http', status: 200 });
    expect(rec.time).toMatch(/Z$/);
    expect(lines[0]).not.toContain('tok_very_secret_123');
  });

  it('levels: --quiet shows warnings only, --verbose debug', () => {
    const lines = capture();
    setLogLevel('warn');
    logger().info('hidden');
    logger().warn('shown');
    setLogLevel('debug');
    logger().debug('shown too');
    expect(lines.map((l) => l.split(' ').slice(2).join(' ').trim())).toEqual(['shown', 'shown too']);
  });
});
