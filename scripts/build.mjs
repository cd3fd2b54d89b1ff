#!/usr/bin/env node
// `npm run build`: compiles the production sources (tsconfig.build.json) into dist/ with the
// project's TypeScript, bundles the workflow code once into dist/workflow-bundle.js, then writes
// dist/.build-stamp, which bin/runsync.js checks before running dist/ (bin/build-state.mjs).
//   --if-stale     build only when dist/ is missing or older than a source
//   --if-possible  (npm's `prepare`) skip quietly where nothing can be built: no TypeScript
//                  installed (production installs) or no sources (an image's install layer)
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const config = join(root, 'tsconfig.build.json');
const args = new Set(process.argv.slice(2));
const require = createRequire(import.meta.url);

function tscPath() {
  try {
    const pkg = require.resolve('typescript/package.json');
    return join(pkg, '..', JSON.parse(readFileSync(pkg, 'utf8')).bin.tsc);
  } catch {
    return null;
  }
}

/** The sources dist/ is made from: tsconfig.build.json's include patterns (`dir/**\/*.ts` or a file). */
function sources() {
  // The file is JSON with comments (as tsconfig allows): drop whole-line comments.
  const include = JSON.parse(readFileSync(config, 'utf8').replace(/^\s*\/\/.*$/gm, '')).include;
  const out = ['tsconfig.json', 'tsconfig.build.json'];
  for (const pattern of include) {
    if (!pattern.includes('*')) {
      out.push(pattern);
      continue;
    }
    const dir = pattern.slice(0, pattern.indexOf('/**'));
    for (const e of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(relative(root, join(e.parentPath ?? e.path, e.name)));
    }
  }
  return out.sort();
}

if (args.has('--if-possible') && (!existsSync(config) || !tscPath())) {
  process.exit(0);
}
if (args.has('--if-stale')) {
  const { buildState } = await import(pathToFileURL(join(root, 'bin', 'build-state.mjs')).href);
  if (buildState(pathToFileURL(root + '/')).fresh) process.exit(0);
}

const tsc = tscPath();
if (!tsc) {
  process.stderr.write('build: TypeScript is not installed (npm ci installs it)\n');
  process.exit(1);
}
const started = Date.now();
const stamp = join(root, 'dist', '.build-stamp');
// No stamp while dist/ is being rewritten: bin/runsync.js runs the sources meanwhile.
rmSync(stamp, { force: true });
process.stderr.write('building dist/ (tsc, workflow bundle)…\n');
try {
  execFileSync(process.execPath, [tsc, '-p', config], { cwd: root, stdio: 'inherit' });
} catch {
  process.stderr.write('build: tsc failed (above); bin/runsync.js runs the sources until a build succeeds\n');
  process.exit(1);
}
const { bundleWorkflows } = await import(pathToFileURL(join(root, 'dist', 'scripts', 'bundle-workflows.js')).href);
const bundle = join(root, 'dist', 'workflow-bundle.js');
await bundleWorkflows(bundle + '.tmp');
renameSync(bundle + '.tmp', bundle);
writeFileSync(stamp, JSON.stringify({ sources: sources() }) + '\n');
// Dated when the build began: a source saved while it ran counts as newer.
utimesSync(stamp, started / 1000, started / 1000);
process.stderr.write(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
