#!/usr/bin/env node
// Installs what a fresh clone is missing before the demo or the tests: npm packages
// (exactly the lock file's, with `npm ci`, which never rewrites it), the pinned
// Temporal CLI in .tools/, and the compiled build in dist/ when a source is newer than it
// (scripts/build.mjs). Quiet when all is there.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync, execSync } from 'node:child_process';

/**
 * Installed as locked: every package the lock file names is in node_modules at its
 * version (npm's own record, node_modules/.package-lock.json). Optional packages of
 * other platforms are never installed and are not asked for.
 */
function installedAsLocked() {
  const marker = 'node_modules/.package-lock.json';
  if (!existsSync(marker)) return false;
  const want = JSON.parse(readFileSync('package-lock.json', 'utf8')).packages ?? {};
  const have = JSON.parse(readFileSync(marker, 'utf8')).packages ?? {};
  for (const [path, entry] of Object.entries(want)) {
    if (path === '' || entry.link) continue;
    if (entry.optional && !(path in have)) continue;
    if (have[path]?.version !== entry.version) return false;
  }
  return true;
}

if (!installedAsLocked()) {
  process.stderr.write('installing npm packages (npm ci)…\n');
  // Also builds dist/ (the `prepare` script).
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
try {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' });
} catch {
  // Said above by the build; runsync then runs the sources through tsx.
}
const { register } = await import('tsx/esm/api');
register();
const { resolveTemporalCli } = await import('../runtime/temporal-cli.ts');
const cli = resolveTemporalCli({ log: (m) => process.stderr.write(m + '\n') });
if (!cli) process.stderr.write('no Temporal CLI could be installed: runsync will need TEMPORAL_CLI or TEMPORAL_ADDRESS\n');
