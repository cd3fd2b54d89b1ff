/**
 * `npm run build` output runs, and bin/runsync.js runs it only while it is current: built in a
 * copy of the checkout (the repository's own dist/ is left alone), then run as shipped, after a
 * source changes, and without the sources at all (as in the image).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let dir: string;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'runsync.js'), ...args], {
    cwd: dir,
    env: { ...process.env, RUNSYNC_DEBUG_LOADER: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'runsync-build-'));
  const include = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { include: string[] }).include;
  const top = new Set(include.map((p) => p.split('/')[0]));
  for (const entry of [...top, 'bin', 'scripts', 'schema', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('compiles dist/ with its workflow bundle; bin/runsync.js runs it while no source is newer', () => {
    const before = run(['--version']);
    expect(before.stderr).toBe('runsync: loader: tsx (no build (npm run build))\n');
    expect(before.stdout.trim()).toBe(VERSION);

    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, encoding: 'utf8', timeout: 110_000 });
    expect(build.stderr).toMatch(/built dist\//);
    expect(build.status).toBe(0);
    expect(existsSync(join(dir, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(statSync(join(dir, 'dist', 'workflow-bundle.js')).size).toBeGreaterThan(100_000);

    const built = run(['--version']);
    expect(built.stderr).toBe('runsync: loader: dist\n');
    expect(built.stdout.trim()).toBe(VERSION);
    // Commands and their options come from the compiled modules too.
    const help = run(['sync', '--help']);
    expect(help.stderr).toBe('runsync: loader: dist\n');
    expect(help.stdout).toContain('--once');

    // A source saved after the build: the sources run, until the build is current again.
    const stamp = statSync(join(dir, 'dist', '.build-stamp')).mtime;
    const later = new Date(stamp.getTime() + 5_000);
    utimesSync(join(dir, 'core', 'log.ts'), later, later);
    const stale = run(['--version']);
    expect(stale.stderr).toBe('runsync: loader: tsx (core/log.ts is newer than the build)\n');
    expect(stale.stdout.trim()).toBe(VERSION);
    const earlier = new Date(stamp.getTime() - 5_000);
    utimesSync(join(dir, 'core', 'log.ts'), earlier, earlier);
    expect(run(['--version']).stderr).toBe('runsync: loader: dist\n');
    expect(run(['--version'], { RUNSYNC_LOADER: 'tsx' }).stderr).toBe('runsync: loader: tsx (RUNSYNC_LOADER=tsx)\n');

    // As shipped in the image: dist/ without the TypeScript sources.
    for (const d of ['cli', 'core', 'runtime', 'warehouse']) rmSync(join(dir, d), { recursive: true, force: true });
    const shipped = run(['sync', '--help']);
    expect(shipped.stderr).toBe('runsync: loader: dist\n');
    expect(shipped.code).toBe(0);
    expect(shipped.stdout).toContain('--once');
  });
});
