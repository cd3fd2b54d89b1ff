#!/usr/bin/env node
// Installs what a fresh clone is missing before the demo or the tests: npm packages
// (from the lock file) and the pinned Temporal CLI in .tools/. Quiet when all is there.
import { existsSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  process.stderr.write('installing npm packages…\n');
  execSync('npm install --no-audit --no-fund', { stdio: 'inherit' });
}
const { register } = await import('tsx/esm/api');
register();
const { resolveTemporalCli } = await import('../runtime/temporal-cli.ts');
const cli = resolveTemporalCli({ log: (m) => process.stderr.write(m + '\n') });
if (!cli) process.stderr.write('no Temporal CLI could be installed: runsync will need TEMPORAL_CLI or TEMPORAL_ADDRESS\n');
