import { z } from 'zod';
import type { ProviderName } from '../config/schema.js';
import type { Provider } from './types.js';
import { strait } from './strait.js';
import { tracecat } from './tracecat.js';
import { b3os } from './b3os.js';
import { anon } from './anon.js';
import { dx } from './dx.js';

/** Every provider runsync knows: one declarative definition each. */
export const PROVIDERS: Partial<Record<ProviderName, Provider>> = { dx, anon, strait, tracecat, b3os };

export function provider(name: ProviderName): Provider {
  const def = PROVIDERS[name];
  if (!def) throw new Error(`provider "${name}" has no connector yet`);
  return def;
}

export function providerOptionsSchema(name: ProviderName): z.ZodType {
  return PROVIDERS[name]?.options ?? z.record(z.string(), z.unknown());
}
