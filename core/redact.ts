/** Header or field names whose values are credentials wherever they appear. */
const SECRET_NAME = /(authorization|token|secret|password|passwd|api[-_]?key|cookie|credential|private[-_]?key|x-.*-key|signature)/i;

export const REDACTED = '[REDACTED]';

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * Deep copy of a JSON value with every credential-bearing field replaced, and every
 * occurrence of a known secret value (the source's own token) cut out of strings.
 */
export function scrub(value: unknown, knownSecrets: readonly string[] = []): unknown {
  const secrets = knownSecrets.filter((s) => s.length >= 6);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrubText(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        out[k] = isSecretName(k) && x !== null && typeof x !== 'object' ? REDACTED : walk(x);
      }
      return out;
    }
    return v;
  };
  return walk(value);
}

/** Removes known secret values and bearer credentials from free text (logs, error messages). */
export function scrubText(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  for (const s of knownSecrets) if (s.length >= 6) out = out.split(s).join(REDACTED);
  return out.replace(/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`);
}
