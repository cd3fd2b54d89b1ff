#!/usr/bin/env node
// Entry point: runs the compiled CLI in dist/ when `npm run build` made it from the current
// sources, else the TypeScript sources through tsx's loader (so a checkout never runs stale
// code). RUNSYNC_LOADER=tsx forces the sources; RUNSYNC_DEBUG_LOADER=1 says which ran, on stderr.
// A signal that arrives while the CLI loads is remembered and replayed once the real
// handlers are in place (runtime/lifecycle.ts), so Ctrl-C works from the first moment.
const early = { caught: null, handler: (sig) => (early.caught ??= sig) };
globalThis.__runsyncEarlySignal = early;
process.on('SIGINT', early.handler);
process.on('SIGTERM', early.handler);
const { buildState } = await import('./build-state.mjs');
const state = process.env.RUNSYNC_LOADER === 'tsx' ? { fresh: false, reason: 'RUNSYNC_LOADER=tsx' } : buildState();
if (process.env.RUNSYNC_DEBUG_LOADER) process.stderr.write(state.fresh ? 'runsync: loader: dist\n' : `runsync: loader: tsx (${state.reason})\n`);
let main;
if (state.fresh) {
  // Stacks (shown with --verbose) name the TypeScript lines; reading the maps costs time, so only then.
  if (process.argv.includes('--verbose') || process.argv.includes('-v') || process.env.RUNSYNC_DEBUG) process.setSourceMapsEnabled(true);
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exit(await main(process.argv.slice(2)));
