/**
 * Bundles the workflow code once, at image build time, so a worker starts without webpack
 * (RUNSYNC_WORKFLOW_BUNDLE points the worker at the file).
 *   node --import tsx scripts/bundle-workflows.ts build/workflow-bundle.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

export async function bundleWorkflows(out: string): Promise<number> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    logger: undefined,
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
