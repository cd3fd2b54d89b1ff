import { describe, expect, it } from 'vitest';
import { parseConfig, ConfigError, sourceToken } from '../../config/load.js';

const good = { name: 'strait-prod', provider: 'strait', baseUrl: 'https://strait.example.com', tokenEnv: 'STRAIT_TOKEN', options: { projectId: 'p1' } };

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected the config to be refused');
}

describe('config validation', () => {
  it('accepts a valid source and fills defaults', () => {
    const cfg = parseConfig({ sources: [good] });
    expect(cfg.sources[0]).toMatchObject({ schedule: '*/5 * * * *', lookback: '2h', settle: '1h', personalData: false, enabled: true });
    expect(cfg.dataDir).toBe('.runsync');
  });

  it('names the path of every bad field and what was expected', () => {
    const issues = problems({ sources: [{ ...good, provider: 'jenkins', schedule: 'every minute', lookback: 'two hours', baseUrl: 'not a url' }] });
    expect(issues.some((i) => i.startsWith('sources[0].provider:'))).toBe(true);
    expect(issues.find((i) => i.startsWith('sources[0].schedule:'))).toMatch(/cron expression/);
    expect(issues.find((i) => i.startsWith('sources[0].lookback:'))).toMatch(/duration/);
    expect(issues.some((i) => i.startsWith('sources[0].baseUrl:'))).toBe(true);
  });

  it('checks provider options with the provider definition', () => {
    const issues = problems({ sources: [{ ...good, options: {} }] });
    expect(issues).toEqual([expect.stringMatching(/^sources\[0\]\.options\.projectId: /)]);
    const extra = problems({ sources: [{ ...good, options: { projectId: 'p', nope: 1 } }] });
    expect(extra[0]).toMatch(/^sources\[0\]\.options/);
  });

  it('refuses unknown keys, duplicate names and a token written into the config', () => {
    expect(problems({ sources: [{ ...good, token: 'strait_abc' }] })[0]).toMatch(/^sources\[0\]/);
    expect(problems({ sources: [good, good] })).toEqual(['sources[1].name: duplicate source name "strait-prod"']);
    expect(problems({ sources: [{ ...good, tokenEnv: 'strait token' }] })[0]).toMatch(/^sources\[0\]\.tokenEnv: .*environment variable/);
  });

  it('reads the token only from the named environment variable', () => {
    const s = parseConfig({ sources: [good] }).sources[0];
    expect(sourceToken(s, { STRAIT_TOKEN: 'strait_x' })).toBe('strait_x');
    expect(() => sourceToken(s, {})).toThrow(/STRAIT_TOKEN is not set/);
  });
});
