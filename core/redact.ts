/** Header or field names whose values are credentials wherever they appear. */
const SECRET_NAME = /(authorization|token|secret|password|passwd|api[-_]?key|cookie|credential|private[-_]?key|x-.*-key|signature)/i;

export const REDACTED = '[REDACTED]';

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * A header value that carries a credential whatever the header is called: an auth scheme
 * followed by a value, or a long opaque token (letters and digits, no spaces).
 */
export function looksLikeCredential(value: string): boolean {
  const v = value.trim();
  if (v === '' || v === REDACTED) return false;
  if (/^(bearer|basic|token|digest|apikey|api-key|hmac|aws4-hmac-sha256)\s+\S/i.test(v)) return true;
  return v.length >= 20 && /^[A-Za-z0-9._~+/=:-]+$/.test(v) && /[A-Za-z]/.test(v) && /\d/.test(v);
}

/**
 * Deep copy of a JSON value with every credential-bearing field replaced, and every
 * occurrence of a known secret value (the source's own token) cut out of strings.
 * Inside a `headers` object (request/response captures such as DX's http_state) any
 * value that looks like a credential is replaced too, whatever the header's name.
 */
export function scrub(value: unknown, knownSecrets: readonly string[] = []): unknown {
  const secrets = knownSecrets.filter((s) => s.length >= 6);
  const walk = (v: unknown, inHeaders: boolean): unknown => {
    if (typeof v === 'string') return scrubText(v, secrets);
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const secret = x !== null && typeof x !== 'object' && (isSecretName(k) || (inHeaders && typeof x === 'string' && looksLikeCredential(x)));
        out[k] = secret ? REDACTED : walk(x, /^headers$/i.test(k));
      }
      return out;
    }
    return v;
  };
  return walk(value, false);
}

/** Removes known secret values and bearer credentials from free text (logs, error messages). */
export function scrubText(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  for (const s of knownSecrets) if (s.length >= 6) out = out.split(s).join(REDACTED);
  return out.replace(/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`);
}
