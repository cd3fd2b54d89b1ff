/**
 * Bounds on one record, checked before anything walks it recursively (schema checks,
 * scrubbing, serialisation): a record nested thousands of levels deep or megabytes
 * large is quarantined with the reason instead of failing its page.
 */
export interface ItemLimits {
  maxDepth: number;
  maxBytes: number;
}

export const DEFAULT_ITEM_LIMITS: ItemLimits = { maxDepth: 64, maxBytes: 5 * 1024 * 1024 };

/**
 * Why a value is over the limits, or null. Iterative, so depth itself cannot overflow the stack;
 * two parallel stacks and `for…in`, so walking every record allocates nothing per value.
 */
export function overLimits(value: unknown, limits: ItemLimits): string | null {
  const values: unknown[] = [value];
  const depths: number[] = [1];
  let bytes = 0;
  while (values.length) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v === 'string') bytes += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) bytes += 5;
    else if (typeof v === 'object') {
      if (depth > limits.maxDepth) return `nested deeper than ${limits.maxDepth} levels (maxDepth)`;
      bytes += 2;
      if (Array.isArray(v))
        for (const x of v) {
          values.push(x);
          depths.push(depth + 1);
        }
      else
        for (const k in v) {
          if (!Object.hasOwn(v, k)) continue;
          bytes += k.length + 4;
          values.push((v as Record<string, unknown>)[k]);
          depths.push(depth + 1);
        }
    }
    if (bytes > limits.maxBytes) return `larger than ${limits.maxBytes} bytes (maxItemBytes)`;
  }
  return null;
}
