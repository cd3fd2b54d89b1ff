#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx's loader (no build step needed).
// A signal that arrives while the CLI loads is remembered and replayed once the real
// handlers are in place (runtime/lifecycle.ts), so Ctrl-C works from the first moment.
const early = { caught: null, handler: (sig) => (early.caught ??= sig) };
globalThis.__runsyncEarlySignal = early;
process.on('SIGINT', early.handler);
process.on('SIGTERM', early.handler);
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../cli/main.ts');
process.exit(await main(process.argv.slice(2)));
