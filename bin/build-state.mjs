// Whether dist/ (made by `npm run build`, scripts/build.mjs) may run: its stamp exists and no
// source it was built from is newer. The stamp lists those sources; checking them is one stat
// each (a few milliseconds). A listed source that is absent is no reason to rebuild: an image
// ships dist/ without the sources, and in a checkout a removed module changes its importers.
import { readFileSync, statSync } from 'node:fs';

export const STAMP = 'dist/.build-stamp';

/** @returns {{ fresh: true } | { fresh: false, reason: string }} */
export function buildState(root = new URL('..', import.meta.url)) {
  let built;
  let sources;
  try {
    const stamp = new URL(STAMP, root);
    built = statSync(stamp).mtimeMs;
    sources = JSON.parse(readFileSync(stamp, 'utf8')).sources;
  } catch {
    return { fresh: false, reason: 'no build (npm run build)' };
  }
  for (const file of sources) {
    let mtime;
    try {
      mtime = statSync(new URL(file, root)).mtimeMs;
    } catch {
      continue;
    }
    if (mtime > built) return { fresh: false, reason: `${file} is newer than the build` };
  }
  return { fresh: true };
}
