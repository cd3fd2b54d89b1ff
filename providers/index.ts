import { z } from 'zod';
import type { ProviderName } from '../config/schema.js';
import type { ProviderDefinition } from './types.js';
import { strait } from './strait.js';
import { tracecat } from './tracecat.js';
import { b3os } from './b3os.js';
import { anon } from './anon.js';
import { dx } from './dx.js';

/** Every provider runsync knows: one declarative definition each. */
export const PROVIDER_DEFINITIONS: Partial<Record<ProviderName, ProviderDefinition>> = {
  dx,
  anon,
  strait,
  tracecat,
  b3os,
};

export function providerDefinition(name: ProviderName): ProviderDefinition {
  const def = PROVIDER_DEFINITIONS[name];
  if (!def) throw new Error(`provider "${name}" has no connector yet`);
  return def;
}

export function providerOptionsSchema(name: ProviderName): z.ZodType {
  return PROVIDER_DEFINITIONS[name]?.options ?? z.record(z.string(), z.unknown());
}
