/**
 * Bundles the workflow code once, so a worker starts without webpack: `npm run build` writes
 * dist/workflow-bundle.js (the compiled worker finds it), RUNSYNC_WORKFLOW_BUNDLE points a
 * worker at any other file.
 *   node --import tsx scripts/bundle-workflows.ts out/workflow-bundle.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

export async function bundleWorkflows(out: string): Promise<number> {
  const { code } = await bundleWorkflowCode({
    // The compiled workflows next to the compiled script, else the sources.
    workflowsPath: fileURLToPath(new URL(import.meta.url.endsWith('.js') ? '../workflows/index.js' : '../workflows/index.ts', import.meta.url)),
    // Webpack's statistics only when something is wrong.
    logger: new DefaultLogger('WARN'),
  });
  mkdirSync(dirname(resolve(out)), { recursive: true });
  writeFileSync(out, code);
  return code.length;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? 'build/workflow-bundle.js';
  const size = await bundleWorkflows(out);
  process.stdout.write(`workflow bundle: ${out} (${Math.round(size / 1024)} KiB)\n`);
}
