import { describe, expect, it } from 'vitest';
import { scrub, scrubEmails, scrubText } from '../../core/redact.js';

const R = '[REDACTED]';

describe('scrub: header shapes', () => {
  it('redacts name/value pairs inside headers by the name', () => {
    const out = scrub({
      request: {
        headers: [
          { name: 'X-Api-Key', value: 'abcdefghij' },
          { name: 'Accept', value: 'application/json' },
          { Name: 'Cookie', Value: 'session=abc', note: 'kept' },
        ],
      },
    });
    expect(out).toEqual({
      request: {
        headers: [
          { name: 'X-Api-Key', value: R },
          { name: 'Accept', value: 'application/json' },
          { Name: 'Cookie', Value: R, note: 'kept' },
        ],
      },
    });
  });

  it('redacts [name, value] tuples, "Name: value" lines and raw name, value lists in headers', () => {
    expect(scrub({ headers: [['Cookie', 'session=abc'], ['Accept', 'text/html'], ['X-Trace', 'Bearer abcdefghijk']] })).toEqual({
      headers: [['Cookie', R], ['Accept', 'text/html'], ['X-Trace', R]],
    });
    expect(scrub({ Headers: ['Authorization: Basic dXNlcjpwYXNz', 'Accept: */*'] })).toEqual({ Headers: [`Authorization: ${R}`, 'Accept: */*'] });
    expect(scrub({ rawHeaders: ['Host', 'api.x', 'Cookie', 'sid=1', 'X-Api-Key', 'zzzzzzzz'] })).toEqual({ rawHeaders: ['Host', 'api.x', 'Cookie', R, 'X-Api-Key', R] });
  });

  it('redacts arrays under a secret name element-wise', () => {
    expect(scrub({ headers: { 'x-api-key': ['zzzzzzzz'], cookie: ['sid=1', 'b=2'], accept: ['json'] } })).toEqual({
      headers: { 'x-api-key': [R], cookie: [R, R], accept: ['json'] },
    });
    expect(scrub({ tokens: ['a', 'b', null], config: { api_key: [['x']] } })).toEqual({ tokens: [R, R, null], config: { api_key: [[R]] } });
  });

  it('redacts name/value pairs with a secret name anywhere (env lists, HAR cookies)', () => {
    const out = scrub({
      env: [{ name: 'GITHUB_TOKEN', value: 'ghp_x' }, { name: 'REGION', value: 'eu' }],
      cookies: [{ name: 'sid', value: 'abc', httpOnly: true }],
      step: { name: 'deploy', value: 3, token: 'tok' },
    });
    expect(out).toEqual({
      env: [{ name: 'GITHUB_TOKEN', value: R }, { name: 'REGION', value: 'eu' }],
      cookies: [{ name: 'sid', value: R, httpOnly: true }],
      step: { name: 'deploy', value: 3, token: R },
    });
  });

  it('keeps the earlier behaviour', () => {
    const out = scrub({ headers: { Authorization: 'Bearer ghp_abcdef123456', 'X-Api-Key': 'k_123456789', Accept: 'json' }, note: 'used tok_secret_value here', n: null, password: null }, ['tok_secret_value']);
    expect(out).toEqual({ headers: { Authorization: R, 'X-Api-Key': R, Accept: 'json' }, note: `used ${R} here`, n: null, password: null });
    expect(scrub({ credentials: { type: 'oauth', token: 't' }, code: 'NOT_FOUND', key: 'deploy' })).toEqual({ credentials: { type: 'oauth', token: R }, code: 'NOT_FOUND', key: 'deploy' });
  });

  it('copies only what changes: parts without a credential are shared with the input, which is never changed', () => {
    const clean = { id: 'r1', at: '2026-11-20T10:00:00Z', steps: [{ n: 1, tags: ['a', 'b'] }], headers: { Accept: 'json' } };
    expect(scrub(clean, ['tok_secret_value'])).toBe(clean);
    const input = JSON.parse('{"id":"r1","steps":[{"n":1},{"token":"t"}],"meta":{"at":"x"},"list":["a","Bearer abcdefgh12345678","c"],"__proto__":{"note":"tok_secret_value"}}') as {
      steps: object[];
      meta: object;
      list: string[];
    };
    const copy = JSON.parse(JSON.stringify(input));
    const out = scrub(input, ['tok_secret_value']) as typeof input;
    expect(input).toEqual(copy);
    expect(out.meta).toBe(input.meta);
    expect(out.steps[0]).toBe(input.steps[0]);
    expect(out.steps[1]).toEqual({ token: R });
    expect(out.list).toEqual(['a', `Bearer ${R}`, 'c']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ note: R });
  });

  it('keeps a __proto__ key as data', () => {
    const out = scrub(JSON.parse('{"__proto__": {"token": "t", "x": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ token: R, x: 1 });
  });
});

describe('scrub: URLs in strings', () => {
  it('redacts user info and credential query parameters, keeping the rest of the URL', () => {
    expect(scrub({ note: 'called https://user:pass@x/api?api_key=abc&token=xyz&page=2 and failed' })).toEqual({
      note: `called https://${R}@x/api?api_key=${R}&token=${R}&page=2 and failed`,
    });
  });

  it('knows the short credential parameter names, in queries and fragments', () => {
    const u = 'https://h/cb?code=c1&state=s&key=k&sig=s1&signature=s2&auth=a&secret=z&access_token=at&apikey=ak&password=p&X-Amz-Credential=cr&limit=5#access_token=frag&id=7';
    expect(scrubText(u)).toBe(
      `https://h/cb?code=${R}&state=s&key=${R}&sig=${R}&signature=${R}&auth=${R}&secret=${R}&access_token=${R}&apikey=${R}&password=${R}&X-Amz-Credential=${R}&limit=5#access_token=${R}&id=7`,
    );
  });

  it('works in free text and JSON text, and leaves ordinary URLs alone', () => {
    expect(scrubText('GET /runs?page=2&api_key=abc: HTTP 401')).toBe(`GET /runs?page=2&api_key=${R}: HTTP 401`);
    expect(scrubText('{"url":"postgres://admin:hunter2@db:5432/x?sslmode=require"}')).toBe(`{"url":"postgres://${R}@db:5432/x?sslmode=require"}`);
    expect(scrubText('see https://example.com/docs?page=2&q=token#top')).toBe('see https://example.com/docs?page=2&q=token#top');
    expect(scrubText('mail bob@example.com about x=1')).toBe('mail bob@example.com about x=1');
  });

  it('stays fast on long strings', () => {
    const long = 'a.'.repeat(100_000) + '@' + 'b-'.repeat(100_000) + '=';
    const started = Date.now();
    scrubText(long);
    scrubEmails(long);
    expect(scrubText('?key=' + '.'.repeat(200_000) + 'x&y=1')).toBe(`?key=${R}&y=1`);
    scrubText('x://' + 'a'.repeat(200_000) + '&token=' + ':'.repeat(200_000));
    // Linear work takes well under a second even on a loaded machine; a backtracking
    // pattern takes minutes on inputs this size, so the bound leaves room for load.
    expect(Date.now() - started).toBeLessThan(8000);
  });
});

describe('scrubEmails', () => {
  it('replaces every e-mail address in any string, deep, without touching the input', () => {
    const input = {
      author: 'Alice <alice.smith+ci@example.co.uk>',
      log: ['sent to bob@x.io and carol@sub.example.com.', 'no address here', 'user@localhost stays'],
      nested: { msg: 'ping ALICE@EXAMPLE.COM', n: 3, ok: true, none: null },
    };
    const copy = structuredClone(input);
    expect(scrubEmails(input)).toEqual({
      author: 'Alice <[EMAIL]>',
      log: ['sent to [EMAIL] and [EMAIL].', 'no address here', 'user@localhost stays'],
      nested: { msg: 'ping [EMAIL]', n: 3, ok: true, none: null },
    });
    expect(input).toEqual(copy);
  });

  it('replaces strings under e-mail keys whatever they hold', () => {
    expect(scrubEmails({ email: 'alice at example dot com', e_mail: 'x', mail: 'y', Email: '', committer_email: 'c@d.ef', emails: ['a@b.cd', 'zz'], email_verified: true, mailbox: 'inbox', count: 2 })).toEqual({
      email: '[EMAIL]',
      e_mail: '[EMAIL]',
      mail: '[EMAIL]',
      Email: '[EMAIL]',
      committer_email: '[EMAIL]',
      emails: ['[EMAIL]', '[EMAIL]'],
      email_verified: true,
      mailbox: 'inbox',
      count: 2,
    });
  });

  it('replaces addresses in keys too, numbering keys that would collide', () => {
    expect(scrubEmails({ 'a@b.cd': 1, 'c@d.ef': 2, '[EMAIL]': 3, plain: 4 })).toEqual({ '[EMAIL] 2': 1, '[EMAIL] 3': 2, '[EMAIL]': 3, plain: 4 });
  });

  it('copies only what changes: parts without an address are shared with the input, which is never changed', () => {
    const clean = { id: 'r1', steps: [{ n: 1, tags: ['a', 'b'] }], meta: { at: 'x' } };
    expect(scrubEmails(clean)).toBe(clean);
    // As parsed JSON holds it: `__proto__` is a key like any other.
    const input = JSON.parse('{"id":"r1","steps":[{"n":1},{"by":"al@ex.com"}],"meta":{"at":"x"},"list":["a","b@c.de","c"],"__proto__":{"owner":"o@p.qr"}}') as {
      steps: object[];
      meta: object;
      list: string[];
    };
    const copy = JSON.parse(JSON.stringify(input));
    const out = scrubEmails(input) as typeof input;
    expect(input).toEqual(copy);
    expect(out.meta).toBe(input.meta);
    expect(out.steps[0]).toBe(input.steps[0]);
    expect(out.steps[1]).toEqual({ by: '[EMAIL]' });
    expect(out.list).toEqual(['a', '[EMAIL]', 'c']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ owner: '[EMAIL]' });
  });

  it('passes through non-objects', () => {
    expect(scrubEmails('x@y.zz')).toBe('[EMAIL]');
    expect(scrubEmails(5)).toBe(5);
    expect(scrubEmails(null)).toBe(null);
    expect(scrubEmails(undefined)).toBe(undefined);
  });
});
