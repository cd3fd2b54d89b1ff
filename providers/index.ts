import { z } from 'zod';
import type { ProviderName } from '../config/schema.js';
import type { ProviderDefinition } from './types.js';
import { strait } from './strait.js';

/** Every provider runsync knows: one declarative definition each. */
export const PROVIDER_DEFINITIONS: Partial<Record<ProviderName, ProviderDefinition>> = {
  strait,
};

export function providerDefinition(name: ProviderName): ProviderDefinition {
  const def = PROVIDER_DEFINITIONS[name];
  if (!def) throw new Error(`provider "${name}" has no connector yet`);
  return def;
}

export function providerOptionsSchema(name: ProviderName): z.ZodType {
  return PROVIDER_DEFINITIONS[name]?.options ?? z.record(z.string(), z.unknown());
}
